// How CSI names become RouterOS slots and file names, deterministically, so that creating by
// the same name again finds the same disk (idempotency without any state of our own).
//
//   volume "pvc-<uuid>" (starts with the volume prefix, valid slot)  -> slot "pvc-<uuid>"
//   any other acceptable volume name                                 -> "<prefix>h<32 hex>"
//   snapshot name                                                     -> "snap-<32 hex>"
// where hex is the start of SHA-256(name). A snapshot's disk file records its source volume
// and creation time in its name: "<snap slot>.from-<source slot>.at-<unix seconds>.img".
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "polycsi/paging.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

inline constexpr char kSnapshotSlotPrefix[] = "snap-";

// Checks a CSI volume or snapshot name: 1-128 characters of [A-Za-z0-9._-], starting with a
// letter or digit, without "..". Anything else is INVALID_ARGUMENT (nothing is derived from it).
void checkCsiName(std::string_view name, std::string_view what);

SlotName volumeSlotForName(std::string_view csiName, const SlotPrefix& prefix);
SlotName snapshotSlotForName(std::string_view csiName);

// True when `slot` names one of this driver's volumes / snapshots.
bool isVolumeSlot(const SlotName& slot, const SlotPrefix& prefix);
bool isSnapshotSlot(const SlotName& slot);

// The paging tokens of listVolumes / listSnapshots: slot names (SlotName::isValid).
paging::TokenRule listingTokenRule();

// The file of a volume disk: <base>/<slot>.img.
DiskPath volumeFilePath(const DiskPath& base, const SlotName& slot);

struct SnapshotFileInfo {
  SlotName source;
  int64_t createdUnixSeconds;
};
// The file of a snapshot disk, in its source volume's directory.
DiskPath snapshotFilePath(const DiskPath& directory, const SlotName& snapshot,
                          const SlotName& source, int64_t createdUnixSeconds);
// The /disk comment of a snapshot disk that is a member of group `groupId` (a core-given local
// id, [A-Za-z0-9._-]{1,96}; INVALID_ARGUMENT otherwise): "polycsi-group=<groupId>". A disk's
// comment, unlike its file name (128-character segments), has room for it.
std::string groupSnapshotComment(std::string_view groupId);
// The group a snapshot disk's comment names; empty when it names none.
std::string groupOfSnapshotComment(std::string_view comment);

// Reads back what snapshotFilePath encoded; nullopt when `filePath` is not such a name.
std::optional<SnapshotFileInfo> parseSnapshotFilePath(std::string_view filePath,
                                                      const SlotName& snapshot);

}  // namespace polycsi::rds_nvme
