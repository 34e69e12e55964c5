// Builds csi.v1.VolumeCapability messages from what a person says on the command line.
// Pure functions: no state, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "csi.pb.h"

namespace polycsi::csictl {

// What a command line says about one volume capability. Defaults describe a mount volume
// written by a single node, the most common case.
struct VolumeCapabilitySpec {
  // Short alias (rwo, rwop, rox, rwx, single-node-reader, multi-node-single-writer,
  // single-node-multi-writer) or a CSI enum name (SINGLE_NODE_WRITER, ...; case-insensitive).
  std::string access_mode = "rwo";
  // Raw block device instead of a mounted filesystem.
  bool block = false;
  // Mount volumes only: filesystem type (empty = the driver's default), mount flags and the
  // group that should own the mounted volume.
  std::string fs_type;
  std::vector<std::string> mount_flags;
  std::string volume_mount_group;
};

// Maps an access mode name (see VolumeCapabilitySpec::access_mode) to the CSI enum. Throws
// std::invalid_argument listing the accepted names for an unknown one.
csi::v1::VolumeCapability::AccessMode::Mode parseAccessMode(std::string_view name);

// Builds the capability. Throws std::invalid_argument when the spec is contradictory (block
// together with a filesystem type, mount flags or mount group), the access mode is unknown,
// or the filesystem type or a mount flag is not a plausible token (empty, whitespace,
// control characters, or ',' in a filesystem type).
csi::v1::VolumeCapability buildVolumeCapability(const VolumeCapabilitySpec& spec);

// Short human description, e.g. "mount ext4 [noatime] SINGLE_NODE_WRITER" or
// "block MULTI_NODE_MULTI_WRITER".
std::string describeVolumeCapability(const csi::v1::VolumeCapability& capability);

}  // namespace polycsi::csictl
