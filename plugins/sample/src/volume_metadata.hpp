// What the sample plugin records next to each image file: the CSI name it was created for, its
// size and where its content came from. Stored as a small JSON document (<id>.json).
//
// THREADING: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi::sample {

struct VolumeRecord {
  std::string id;
  std::string name;  // the CSI name the id was derived from
  int64_t capacityBytes = 0;
  VolumeMode volumeMode = VolumeMode::kFilesystem;
  std::string sourceSnapshotId;  // empty unless restored from a snapshot
  std::string sourceVolumeId;    // empty unless cloned
  int64_t createdUnixNs = 0;
  // The mutable parameter `tier` ("standard" or "fast"); empty when never set. Records written
  // before it existed read as empty.
  std::string tier;
};

struct SnapshotRecord {
  std::string id;
  std::string name;
  std::string sourceVolumeId;
  int64_t sizeBytes = 0;
  int64_t createdUnixNs = 0;
  std::string groupSnapshotId;  // the group it is a member of; empty when none
};

// JSON text of a record.
std::string toJson(const VolumeRecord& record);
std::string toJson(const SnapshotRecord& record);

// Parses a record written by toJson; throws INTERNAL naming `origin` when the text is not one
// (a damaged metadata file is a broken invariant of the directory, not a user error).
VolumeRecord parseVolumeRecord(const std::string& json, const std::string& origin);
SnapshotRecord parseSnapshotRecord(const std::string& json, const std::string& origin);

// Nanoseconds since the Unix epoch, now.
int64_t nowUnixNs();

}  // namespace polycsi::sample
