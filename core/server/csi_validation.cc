#include "server/csi_validation.hpp"

#include <charconv>

namespace polycsi::server {

Status requireField(const std::string& value, const char* field) {
  if (value.empty()) return Status(Code::kInvalidArgument, std::string(field) + " is required");
  return Status::ok();
}

bool isSupportedFsType(const std::string& fsType) {
  // nfs/nfs4 name what a plugin's mount source is (StorageClasses say fstype: nfs); the core
  // formats only the others.
  return fsType == "ext4" || fsType == "ext3" || fsType == "xfs" || fsType == "nfs" ||
         fsType == "nfs4";
}

StatusOr<CapabilityModes> checkCapability(const csi::v1::VolumeCapability& capability,
                                          const char* field) {
  const std::string f(field);
  CapabilityModes modes;
  switch (capability.access_type_case()) {
    case csi::v1::VolumeCapability::kBlock:
      modes.volume = VolumeMode::kBlock;
      break;
    case csi::v1::VolumeCapability::kMount: {
      modes.volume = VolumeMode::kFilesystem;
      const auto& fs = capability.mount().fs_type();
      if (!fs.empty() && !isSupportedFsType(fs))
        return Status(Code::kInvalidArgument,
                      f + ".mount.fs_type '" + fs + "' is not supported (ext4, ext3, xfs)");
      for (const auto& flag : capability.mount().mount_flags())
        if (flag.empty() || flag.find_first_of(std::string("\n\0", 2)) != std::string::npos)
          return Status(Code::kInvalidArgument, f + ".mount.mount_flags has an invalid entry");
      break;
    }
    default:
      return Status(Code::kInvalidArgument, f + ".access_type (block or mount) is required");
  }
  if (!capability.has_access_mode())
    return Status(Code::kInvalidArgument, f + ".access_mode is required");
  auto mode = capability.access_mode().mode();
  if (mode <= csi::v1::VolumeCapability::AccessMode::UNKNOWN ||
      mode > csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_MULTI_WRITER)
    return Status(Code::kInvalidArgument, f + ".access_mode.mode is unknown");
  modes.access = static_cast<AccessMode>(mode);
  return modes;
}

Status checkCapacityRange(const csi::v1::CapacityRange& range) {
  if (range.required_bytes() < 0 || range.limit_bytes() < 0)
    return Status(Code::kInvalidArgument, "capacity_range must not be negative");
  if (range.limit_bytes() != 0 && range.required_bytes() > range.limit_bytes())
    return Status(Code::kInvalidArgument,
                  "capacity_range.required_bytes (" + std::to_string(range.required_bytes()) +
                      ") exceeds limit_bytes (" + std::to_string(range.limit_bytes()) + ")");
  return Status::ok();
}

Status checkPath(const std::string& path, const char* field) {
  const std::string f(field);
  if (path.empty()) return Status(Code::kInvalidArgument, f + " is required");
  if (path.front() != '/') return Status(Code::kInvalidArgument, f + " must be absolute");
  if (path.find('\0') != std::string::npos || path.find('\n') != std::string::npos)
    return Status(Code::kInvalidArgument, f + " contains a control character");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0)
      return Status(Code::kInvalidArgument, f + " must not contain '..'");
    start = end + 1;
  }
  return Status::ok();
}

StatusOr<int> migrationTimeoutSeconds(const google::protobuf::Map<std::string, std::string>& p) {
  auto it = p.find(kMigrationTimeoutParameter);
  if (it == p.end()) return kMigrationTimeoutDefault;
  return parseMigrationTimeout(it->second);
}

StatusOr<int> parseMigrationTimeout(const std::string& text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < kMigrationTimeoutMin ||
      value > kMigrationTimeoutMax)
    return Status(Code::kInvalidArgument,
                  std::string(kMigrationTimeoutParameter) + " must be an integer from " +
                      std::to_string(kMigrationTimeoutMin) + " to " +
                      std::to_string(kMigrationTimeoutMax) + " (seconds), got '" + text + "'");
  return value;
}

StatusOr<bool> encryptionRequested(const google::protobuf::Map<std::string, std::string>& map,
                                   const char* key, const std::string& field) {
  auto it = map.find(key);
  if (it == map.end() || it->second == "false") return false;
  if (it->second == "true") return true;
  return Status(Code::kInvalidArgument,
                field + " must be \"true\" or \"false\", got '" + it->second + "'");
}

}  // namespace polycsi::server
