// How iscsi_powerstore reads and names the array's volume objects (volumes and snapshots): the
// attributes every volume GET selects, the group tag a snapshot carries in its description, and
// the checks on names that reach URLs. Shared by the controller calls (powerstore_backend.cc)
// and the group snapshots (powerstore_group_snapshot.cc). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace polycsi::iscsi_powerstore {

// What each volume GET asks for (the array returns only `id` without `select`: PowerStore REST
// API Developers Guide, "Request parameters"); the names are those of dell/gopowerstore
// volume_types.go (Volume, ProtectionData).
inline constexpr const char* kVolumeSelect =
    "select=id,name,description,type,size,protection_data,creation_timestamp";

// A member of a group snapshot says so in its description (gopowerstore volume_types.go:
// SnapshotCreate.description, Volume.description), where any controller replica reads it back.
inline constexpr std::string_view kGroupDescriptionPrefix = "polycsi-group=";

// The group a snapshot's description names, or empty.
std::string groupOf(const nlohmann::json& snapshot);
// The description that tags a snapshot as a member of `group`.
std::string groupDescription(const std::string& group);

// "volume/<uuid>?<kVolumeSelect>".
std::string volumeById(const std::string& uuid);
// A name filter: the array compares case-insensitively, so callers keep only exact matches.
std::string byName(const char* type, const char* select, const std::string& name);
// The item of `list` named exactly `name`, or null.
nlohmann::json exactName(const nlohmann::json& list, const std::string& name);

// Names reach URLs as filter values: allow only what PowerStore names and CSI names use
// (1 to 128 of letters, digits, '-', '_', '.'); INVALID_ARGUMENT naming `what` otherwise.
void checkName(const std::string& name, const char* what);

// The volume's size; INTERNAL when the answer holds none (an array answers only what a GET
// selects): the plugin's fault, said plainly rather than as a JSON library exception.
int64_t sizeOf(const nlohmann::json& volume);
// protection_data.source_id: the volume a snapshot or clone was taken from, or empty.
std::string sourceOf(const nlohmann::json& volume);
// A snapshot's creation time (RFC 3339 on the array), which CSI requires in every snapshot
// answer; INTERNAL when missing or malformed.
int64_t createdAt(const nlohmann::json& volume);

}  // namespace polycsi::iscsi_powerstore
