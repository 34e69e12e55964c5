// Small builders for CSI requests used by the integration tests.
#pragma once

#include <string>

#include "csi.pb.h"

namespace polycsi::testing {

using AccessModeEnum = csi::v1::VolumeCapability::AccessMode::Mode;

inline csi::v1::VolumeCapability mountCapability(
    AccessModeEnum mode = csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER,
    const std::string& fsType = "ext4") {
  csi::v1::VolumeCapability cap;
  cap.mutable_mount()->set_fs_type(fsType);
  cap.mutable_access_mode()->set_mode(mode);
  return cap;
}

inline csi::v1::VolumeCapability blockCapability(
    AccessModeEnum mode = csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER) {
  csi::v1::VolumeCapability cap;
  cap.mutable_block();
  cap.mutable_access_mode()->set_mode(mode);
  return cap;
}

inline csi::v1::CreateVolumeRequest createRequest(const std::string& name, int64_t bytes,
                                                  const csi::v1::VolumeCapability& cap) {
  csi::v1::CreateVolumeRequest req;
  req.set_name(name);
  req.mutable_capacity_range()->set_required_bytes(bytes);
  *req.add_volume_capabilities() = cap;
  return req;
}

inline constexpr int64_t kMiB = 1024 * 1024;

}  // namespace polycsi::testing
