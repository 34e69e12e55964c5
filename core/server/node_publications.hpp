// The rules for a second NodePublishVolume of a volume on the same node (CSI 1.12,
// NodePublishVolume, second table: the core advertises SINGLE_NODE_MULTI_WRITER):
//
//                            same target,      same target,     other target
//                            same arguments    other arguments
//   SINGLE_NODE_MULTI_WRITER  OK (idempotent)   ALREADY_EXISTS   OK
//   MULTI_NODE_...            OK (idempotent)   ALREADY_EXISTS   OK
//   any other mode            OK (idempotent)   ALREADY_EXISTS   FAILED_PRECONDITION
//
// "Arguments" are every field of the request except the target path and the secrets. A
// publication at another target with a different volume_capability is FAILED_PRECONDITION
// whatever the mode ("COs SHOULD NOT call NodePublishVolume a second time with a different
// volume_capability. If this happens, the Plugin SHOULD return FAILED_PRECONDITION").
// ReadWriteOncePod arrives as SINGLE_NODE_SINGLE_WRITER, so a second pod on the node is refused.
//
// THREADING: pure functions; the caller holds the volume's node lock.
#pragma once

#include <string>
#include <vector>

#include "csi.pb.h"
#include "polycsi/types.hpp"

namespace polycsi::server {

// One NodePublishVolume the node record remembers, so that the rules hold across restarts.
struct NodePublication {
  std::string targetPath;
  AccessMode access = AccessMode::kUnknown;
  std::string capability;  // fingerprint of the volume_capability
  std::string arguments;   // fingerprint of every field but target_path and secrets
};

// The publication `req` asks for (access already checked by checkCapability).
NodePublication publicationOf(const csi::v1::NodePublishVolumeRequest& req, AccessMode access);

// Judges `wanted` against the volume's publications that are still mounted. OK when the
// publish may go ahead (a repeat of a publication included), ALREADY_EXISTS or
// FAILED_PRECONDITION by the table above, naming the publication in the way.
Status checkSecondPublish(const std::string& volumeId, const std::vector<NodePublication>& live,
                          const NodePublication& wanted);

}  // namespace polycsi::server
