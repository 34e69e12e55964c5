#include "volume/rds_csi_ids.hpp"

namespace polycsi::volume {
namespace {

bool isLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A lowercase 8-4-4-4-12 UUID exactly filling `text`.
bool isLowerUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !isLowerHex(text[i])) return false;
  }
  return true;
}

// An 8-4-4-4-12 UUID of either case exactly filling `text`.
bool isAnyCaseUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = isLowerHex(c) || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

}  // namespace

bool isRdsCsiVolumeId(std::string_view id) {
  constexpr std::string_view kPrefix = "pvc-";
  return id.substr(0, kPrefix.size()) == kPrefix && isLowerUuid(id.substr(kPrefix.size()));
}

bool isRdsCsiSnapshotId(std::string_view id) {
  constexpr std::string_view kPrefix = "snap-";
  constexpr std::string_view kAt = "-at-";
  if (id.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view rest = id.substr(kPrefix.size());
  if (rest.size() == 36) return isLowerUuid(rest);
  if (rest.size() <= 36 + kAt.size() || rest.substr(36, kAt.size()) != kAt) return false;
  for (char c : rest.substr(36 + kAt.size()))
    if (!isLowerHex(c)) return false;
  return isLowerUuid(rest.substr(0, 36));
}

bool isAmbiguousRdsCsiId(std::string_view id) {
  if (id.empty() || id.size() > 250 || isAnyCaseUuid(id)) return false;
  for (char c : id) {
    bool safe =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!safe) return false;
  }
  return !isRdsCsiVolumeId(id) && !isRdsCsiSnapshotId(id);
}

}  // namespace polycsi::volume
