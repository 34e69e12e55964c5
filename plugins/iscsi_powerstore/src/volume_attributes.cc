#include "volume_attributes.hpp"

#include "polycsi/types.hpp"
#include "rest_client.hpp"
#include "rest_timestamp.hpp"

namespace polycsi::iscsi_powerstore {

std::string groupOf(const nlohmann::json& snapshot) {
  const std::string description = snapshot.value("description", "");
  if (description.rfind(kGroupDescriptionPrefix, 0) != 0) return {};
  return description.substr(kGroupDescriptionPrefix.size());
}

std::string groupDescription(const std::string& group) {
  return std::string(kGroupDescriptionPrefix) + group;
}

std::string volumeById(const std::string& uuid) { return "volume/" + uuid + "?" + kVolumeSelect; }

std::string byName(const char* type, const char* select, const std::string& name) {
  return std::string(type) + "?" + select + "&name=eq." + RestClient::encode(name);
}

nlohmann::json exactName(const nlohmann::json& list, const std::string& name) {
  if (list.is_array())
    for (const auto& item : list)
      if (item.value("name", "") == name) return item;
  return nullptr;
}

void checkName(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 128)
    throw Error(Code::kInvalidArgument, std::string(what) + " name must be 1 to 128 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok)
      throw Error(Code::kInvalidArgument, std::string(what) + " name '" + name +
                                              "' may hold only letters, digits, '-', '_' and '.'");
  }
}

int64_t sizeOf(const nlohmann::json& volume) {
  const auto size = volume.find("size");
  if (size == volume.end() || !size->is_number_integer())
    throw Error(Code::kInternal, "the array's answer for volume " + volume.value("id", "?") +
                                     " holds no size (not selected?)");
  return size->get<int64_t>();
}

std::string sourceOf(const nlohmann::json& volume) {
  const auto& protection = volume.value("protection_data", nlohmann::json::object());
  const auto source = protection.find("source_id");
  return source != protection.end() && source->is_string() ? source->get<std::string>() : "";
}

int64_t createdAt(const nlohmann::json& volume) {
  const auto stamp = volume.find("creation_timestamp");
  if (stamp == volume.end() || !stamp->is_string())
    throw Error(Code::kInternal, "the array's answer for volume " + volume.value("id", "?") +
                                     " holds no creation_timestamp (not selected?)");
  const auto unixNs = parseRfc3339UnixNs(stamp->get<std::string>());
  if (!unixNs)
    throw Error(Code::kInternal, "the array's creation_timestamp '" + stamp->get<std::string>() +
                                     "' of volume " + volume.value("id", "?") +
                                     " is not an RFC 3339 time");
  return *unixNs;
}

}  // namespace polycsi::iscsi_powerstore
