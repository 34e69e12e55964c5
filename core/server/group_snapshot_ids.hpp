// Names of group snapshots the core builds from per-volume snapshots (plugins whose descriptor
// declares a group snapshot consistency). Everything is derived from the CSI group name, so a
// retried CreateVolumeGroupSnapshot reaches the same group and the same members, and nothing
// about a group lives in a controller replica: its members carry the group's local id (the
// plugin keeps it with each snapshot) and are found again by listing with that filter.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace polycsi::server {

// The most volumes one group snapshot may hold: a KubeVirt VM has a few disks; a request with
// more is refused (INVALID_ARGUMENT) rather than taking minutes of copies in one call.
inline constexpr size_t kMaxGroupMembers = 64;

// The backend-local group id for CSI group snapshot name `name`: "grp-" + up to 40 characters
// of the name (lower-case letters, digits, '-') + "-" + 16 hex digits of a stable 64-bit hash of
// the whole name. At most 61 bytes of [a-z0-9-], a valid plugin-local id. Pure; deterministic
// across builds and machines.
std::string groupLocalIdForName(std::string_view name);

// True when `localId` has the shape groupLocalIdForName produces.
bool isGroupLocalId(std::string_view localId);

// The CSI snapshot name of member `index` (0-based, in the order of the sorted source volume
// ids) of group `groupLocalId`: "<groupLocalId>-m<index>". At most 65 bytes; starts with a
// letter, so every in-tree plugin accepts it as a snapshot name.
std::string groupMemberName(std::string_view groupLocalId, size_t index);

}  // namespace polycsi::server
