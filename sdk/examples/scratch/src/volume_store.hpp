// The scratch plugin's record of the volumes it created: one small text file per volume in the
// instance's private state directory. Volumes have no data to keep on the controller side (the
// data lives in a node's tmpfs while the volume is staged); the record is what makes
// CreateVolume idempotent and DeleteVolume/GetVolume/ListVolumes answer correctly across
// restarts.
//
// THREADING: operations on different ids may run concurrently; callers serialize operations on
// one id (the polycsi core never calls twice at once for the same volume). Writes are atomic
// (temporary file + rename), so a reader sees either the old or the new record.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace scratch {

struct VolumeRecord {
  std::string id;             // the volume's backend-local id (see isValidVolumeId)
  int64_t capacityBytes = 0;  // the tmpfs size limit, a multiple of kPageBytes
  std::string mode;           // octal permission bits of the tmpfs root, e.g. "1777"
};

// True when `id` may name a volume: 1 to 56 characters of [A-Za-z0-9._-], starting with a
// letter or digit (short enough that "scratch-<id>" is a valid tmpfs source name).
bool isValidVolumeId(const std::string& id);

class VolumeStore {
 public:
  // Keeps records in `directory`, creating it when missing. Throws polycsi::Error(kInternal)
  // when it cannot be created.
  explicit VolumeStore(std::filesystem::path directory);

  // The record of `id`, or nullopt when there is none. Throws polycsi::Error(kInternal) when the
  // record exists but cannot be read or parsed (never silently treated as absent).
  std::optional<VolumeRecord> find(const std::string& id) const;

  // Writes (or replaces) a record atomically. Throws polycsi::Error(kInternal) on I/O failure.
  void save(const VolumeRecord& record) const;

  // Removes the record of `id`; true when one existed. Idempotent.
  bool remove(const std::string& id) const;

  // Every record, sorted by id.
  std::vector<VolumeRecord> all() const;

 private:
  std::filesystem::path pathOf(const std::string& id) const;

  std::filesystem::path directory_;
};

}  // namespace scratch
