// The sample plugin's on-disk layout under its configured directory:
//
//   <directory>/volumes/<id>.img     the volume's content, a sparse file of capacity bytes
//   <directory>/volumes/<id>.json    its VolumeRecord
//   <directory>/snapshots/<id>.img   a frozen copy of a volume
//   <directory>/snapshots/<id>.json  its SnapshotRecord
//
// An object exists exactly when its .json exists. Creation writes the image under
// "<id>.img.partial", fsyncs it and renames it into place, and only then writes the metadata
// (atomically as well); deletion removes the metadata first. A crash at any point therefore
// leaves either a complete object or leftovers that are not an object and that the next create
// of the same name overwrites.
//
// THREADING: safe for concurrent calls on different ids; the caller (the core) never runs two
// calls on the same id at once.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "file_io.hpp"
#include "polycsi/types.hpp"
#include "volume_metadata.hpp"

namespace polycsi::sample {

class VolumeFiles {
 public:
  // Fills a new, empty image file open for writing (descriptor owned by VolumeFiles).
  using ImageFiller = std::function<void(int fd)>;

  // Uses `root` (absolute), creating it and its two subdirectories when missing. The root is
  // resolved to its canonical path so image paths match what the kernel reports for loop
  // devices. Throws INVALID_ARGUMENT when it cannot be used.
  explicit VolumeFiles(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path volumeImage(const std::string& id) const;
  std::filesystem::path snapshotImage(const std::string& id) const;

  // The record of a volume, or nullopt when it does not exist. `id` must be a legal local id.
  std::optional<VolumeRecord> findVolume(const std::string& id) const;
  // Every volume, sorted by id. Checks `call` as it goes.
  std::vector<VolumeRecord> allVolumes(const Call& call) const;
  // The ids of every committed volume, sorted, without reading any metadata (one directory
  // scan), so that a listing page reads only the records it returns. Checks `call` as it goes.
  std::vector<std::string> volumeIds(const Call& call) const;
  // Creates the image of `record` with `fill`, sized to record.capacityBytes, then commits the
  // metadata (its rename through `publish`). Overwrites leftovers of an earlier, interrupted
  // attempt.
  void createVolume(const VolumeRecord& record, const ImageFiller& fill, const Call& call,
                    const PublishStep& publish = nullptr);
  // Grows the image to record.capacityBytes and rewrites the metadata (through `publish`).
  void growVolume(const VolumeRecord& record, const PublishStep& publish = nullptr);
  // Rewrites the metadata of the existing volume `record.id` (e.g. a modified tier), atomically.
  void updateVolumeRecord(const VolumeRecord& record);
  // Removes a volume; returns whether it existed.
  bool removeVolume(const std::string& id);

  std::optional<SnapshotRecord> findSnapshot(const std::string& id) const;
  std::vector<SnapshotRecord> allSnapshots(const Call& call) const;
  void createSnapshot(const SnapshotRecord& record, const ImageFiller& fill, const Call& call,
                      const PublishStep& publish = nullptr);
  bool removeSnapshot(const std::string& id);

  // Deletes "*.partial" leftovers of interrupted creations; returns how many. Only safe while no
  // creation runs (at controller start-up).
  int removeLeftovers();

 private:
  void createObject(const std::filesystem::path& dir, const std::string& id,
                    const std::string& metadata, int64_t size, const ImageFiller& fill,
                    const Call& call, const PublishStep& publish);
  bool removeObject(const std::filesystem::path& dir, const std::string& id);

  std::filesystem::path root_;
  std::filesystem::path volumes_;
  std::filesystem::path snapshots_;
};

}  // namespace polycsi::sample
