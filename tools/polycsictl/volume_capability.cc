#include "volume_capability.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace polycsi::csictl {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr std::array<std::pair<std::string_view, Mode::Mode>, 7> kAccessModeAliases = {{
    {"rwo", Mode::SINGLE_NODE_WRITER},
    {"rwop", Mode::SINGLE_NODE_SINGLE_WRITER},
    {"rox", Mode::MULTI_NODE_READER_ONLY},
    {"rwx", Mode::MULTI_NODE_MULTI_WRITER},
    {"single-node-reader", Mode::SINGLE_NODE_READER_ONLY},
    {"multi-node-single-writer", Mode::MULTI_NODE_SINGLE_WRITER},
    {"single-node-multi-writer", Mode::SINGLE_NODE_MULTI_WRITER},
}};

std::string upperCase(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return result;
}

// Rejects tokens that would be mangled or misread on their way into a mount(8) command line.
void requireMountToken(std::string_view what, std::string_view token, bool allow_comma) {
  if (token.empty()) throw std::invalid_argument(std::string(what) + " must not be empty");
  for (const unsigned char c : token) {
    if (std::isspace(c) || std::iscntrl(c) || (!allow_comma && c == ',')) {
      throw std::invalid_argument(std::string(what) + " '" + std::string(token) +
                                  "' contains whitespace, a control character or ','");
    }
  }
}

}  // namespace

Mode::Mode parseAccessMode(std::string_view name) {
  for (const auto& [alias, mode] : kAccessModeAliases) {
    if (alias == name) return mode;
  }
  Mode::Mode mode = Mode::UNKNOWN;
  const std::string enum_name = upperCase(name);
  if (Mode::Mode_Parse(enum_name, &mode) && mode != Mode::UNKNOWN) return mode;

  std::string accepted;
  for (const auto& alias : kAccessModeAliases) accepted += std::string(alias.first) + ", ";
  throw std::invalid_argument("unknown access mode '" + std::string(name) + "' (use one of " +
                              accepted + "or a CSI name such as SINGLE_NODE_WRITER)");
}

csi::v1::VolumeCapability buildVolumeCapability(const VolumeCapabilitySpec& spec) {
  csi::v1::VolumeCapability capability;
  capability.mutable_access_mode()->set_mode(parseAccessMode(spec.access_mode));
  if (spec.block) {
    if (!spec.fs_type.empty() || !spec.mount_flags.empty() || !spec.volume_mount_group.empty()) {
      throw std::invalid_argument(
          "a block volume has no filesystem: drop --fs-type, --mount-flag and --mount-group, or "
          "drop --block");
    }
    capability.mutable_block();
    return capability;
  }
  csi::v1::VolumeCapability::MountVolume* mount = capability.mutable_mount();
  if (!spec.fs_type.empty()) {
    requireMountToken("filesystem type", spec.fs_type, /*allow_comma=*/false);
    mount->set_fs_type(spec.fs_type);
  }
  for (const std::string& flag : spec.mount_flags) {
    // A flag like "context=a,b" legitimately carries commas, so only whitespace is refused.
    requireMountToken("mount flag", flag, /*allow_comma=*/true);
    mount->add_mount_flags(flag);
  }
  if (!spec.volume_mount_group.empty()) {
    requireMountToken("mount group", spec.volume_mount_group, /*allow_comma=*/false);
    mount->set_volume_mount_group(spec.volume_mount_group);
  }
  return capability;
}

std::string describeVolumeCapability(const csi::v1::VolumeCapability& capability) {
  std::string text;
  if (capability.has_block()) {
    text = "block";
  } else if (capability.has_mount()) {
    const auto& mount = capability.mount();
    text = "mount";
    if (!mount.fs_type().empty()) text += " " + mount.fs_type();
    if (mount.mount_flags_size() > 0) {
      std::string flags;
      for (const std::string& flag : mount.mount_flags()) {
        flags += (flags.empty() ? "" : ",") + flag;
      }
      text += " [" + flags + "]";
    }
    if (!mount.volume_mount_group().empty()) text += " group=" + mount.volume_mount_group();
  } else {
    text = "unspecified-access-type";
  }
  return text + " " + Mode::Mode_Name(capability.access_mode().mode());
}

}  // namespace polycsi::csictl
