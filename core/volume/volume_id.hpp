// CSI volume and snapshot ids, and CSI node ids, as polycsi encodes them.
//
// Volume/snapshot id: "<backend>:<local>", where <backend> is the config's backend name and
// <local> the plugin's own id ([A-Za-z0-9._-]{1,96}); at most 128 bytes in all, so later calls
// route to the right plugin instance.
//
// Node id: "<node-name>" or "<node-name>|<plugin>=<identity>|<plugin>=<identity>...", carrying
// each node plugin's host identity (NVMe host NQN, iSCSI IQN) to the controller; at most 256
// bytes. Plugins are sorted by name so the encoding is stable.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "polycsi/types.hpp"

namespace polycsi::volume {

inline constexpr size_t kMaxVolumeIdBytes = 128;
inline constexpr size_t kMaxNodeIdBytes = 256;
inline constexpr size_t kMaxLocalIdBytes = 96;

struct VolumeId {
  std::string backend;
  std::string local;
};

// True for a valid backend name: [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?
bool isValidBackendName(std::string_view name);
// True for a valid plugin-local id: [A-Za-z0-9._-]{1,96}
bool isValidLocalId(std::string_view id);

// INVALID_ARGUMENT when a part is invalid or the result exceeds 128 bytes.
StatusOr<std::string> encodeVolumeId(const VolumeId& id);
// NOT_FOUND when `text` is not a polycsi id (CSI: an unknown volume id is NOT_FOUND);
// the message says why.
StatusOr<VolumeId> decodeVolumeId(std::string_view text);

struct NodeId {
  std::string name;                               // Kubernetes node name
  std::map<std::string, std::string> identities;  // plugin name -> identity
};

// INVALID_ARGUMENT when a part has a forbidden character or the result exceeds 256 bytes.
StatusOr<std::string> encodeNodeId(const NodeId& id);
// INVALID_ARGUMENT when `text` is malformed.
StatusOr<NodeId> decodeNodeId(std::string_view text);

}  // namespace polycsi::volume
