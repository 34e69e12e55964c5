// Volume and snapshot ids: "<backend>:<local>".
#include "volume/volume_id.hpp"

#include <string>

namespace polycsi::volume {
namespace {

constexpr size_t kMaxBackendNameBytes = 32;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isLocalIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

bool isValidBackendName(std::string_view name) {
  if (name.empty() || name.size() > kMaxBackendNameBytes) return false;
  if (!isLowerAlnum(name.front()) || !isLowerAlnum(name.back())) return false;
  for (char c : name)
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

bool isValidLocalId(std::string_view id) {
  if (id.empty() || id.size() > kMaxLocalIdBytes) return false;
  for (char c : id)
    if (!isLocalIdChar(c)) return false;
  return true;
}

StatusOr<std::string> encodeVolumeId(const VolumeId& id) {
  if (!isValidBackendName(id.backend))
    return Status(Code::kInvalidArgument, "backend name '" + id.backend +
                                              "' must match [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?");
  if (!isValidLocalId(id.local))
    return Status(Code::kInvalidArgument, "backend '" + id.backend + "' returned volume id '" +
                                              id.local + "', which must match [A-Za-z0-9._-]{1," +
                                              std::to_string(kMaxLocalIdBytes) + "}");
  std::string text = id.backend + ":" + id.local;
  if (text.size() > kMaxVolumeIdBytes)
    return Status(Code::kInvalidArgument, "volume id '" + text + "' is " +
                                              std::to_string(text.size()) + " bytes, more than " +
                                              std::to_string(kMaxVolumeIdBytes));
  return text;
}

StatusOr<VolumeId> decodeVolumeId(std::string_view text) {
  auto notFound = [&](const std::string& why) {
    return Status(Code::kNotFound,
                  "volume id '" + std::string(text) + "' is not a polycsi volume id: " + why);
  };
  if (text.empty()) return notFound("it is empty");
  if (text.size() > kMaxVolumeIdBytes)
    return notFound("longer than " + std::to_string(kMaxVolumeIdBytes) + " bytes");
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return notFound("no ':' between backend and local id");
  VolumeId id{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (!isValidBackendName(id.backend)) return notFound("'" + id.backend + "' is no backend name");
  if (!isValidLocalId(id.local)) return notFound("'" + id.local + "' is no valid local id");
  return id;
}

}  // namespace polycsi::volume
