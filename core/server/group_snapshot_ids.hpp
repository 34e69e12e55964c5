// Names of group snapshots the core builds from per-volume snapshots (plugins whose descriptor
// declares a group snapshot consistency). Everything is derived from the CSI group name and the
// set of source volumes, so a retried CreateVolumeGroupSnapshot reaches the same group and the
// same members, and nothing about a group lives in a controller replica: its members carry the
// group's local id (the plugin keeps it with each snapshot) and are found again by listing with
// that filter. The name's part of the id is a prefix shared by the groups of every set of
// volumes under that name, which is how another set under the same name is recognised.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace polycsi::server {

// The most volumes one group snapshot may hold: a KubeVirt VM has a few disks; a request with
// more is refused (INVALID_ARGUMENT) rather than taking minutes of copies in one call.
inline constexpr size_t kMaxGroupMembers = 64;

// The part of every group id that depends on the CSI group snapshot name `name` alone:
// "grp-" + up to 40 characters of the name (lower-case letters, digits, '-') + "-" + 16 hex
// digits of a stable 64-bit hash of the whole name + "-". Pure; deterministic across builds and
// machines.
std::string groupIdPrefixForName(std::string_view name);

// The backend-local group id for name `name` and the CSI ids of its source volumes
// (`sortedSources`, sorted and distinct): groupIdPrefixForName(name) + 8 hex digits of a stable
// hash of the sources. At most 70 bytes of [a-z0-9-], a valid plugin-local id. Pure.
std::string groupLocalId(std::string_view name, const std::vector<std::string>& sortedSources);

// True when `localId` has the shape groupLocalId produces.
bool isGroupLocalId(std::string_view localId);

// The CSI snapshot name of member `index` (0-based, in the order of the sorted source volume
// ids) of group `groupLocalId`: "<groupLocalId>-m<index>". At most 74 bytes; starts with a
// letter, so every in-tree plugin accepts it as a snapshot name.
std::string groupMemberName(std::string_view groupLocalId, size_t index);

}  // namespace polycsi::server
