// What the node side knows about each staged volume, kept on disk so that NodePublish,
// NodeUnstage, stats and expansion work after a restart of the node plugin: which backend,
// what the plugin attached (device or mount source) and where it is staged.
// One JSON file per volume under <state_path>/node/, written atomically (temp + fsync + rename).
// THREADING: thread-safe for different volumes; the core serializes per volume.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "polycsi/types.hpp"
#include "server/node_publications.hpp"

namespace polycsi::server {

struct NodeVolumeRecord {
  std::string volumeId;  // CSI volume id
  std::string backend;
  bool block = false;     // raw block volume (no filesystem mounted at staging)
  Attachment attachment;  // what the plugin's attach returned
  std::string stagingPath;
  std::string fsType;  // filesystem mounted at staging (mount volumes)
  // NodePublishVolume targets, for the rules of a second publish (node_publications.hpp).
  // Records written before they were kept have none.
  std::vector<NodePublication> publications;
};

class NodeVolumeRecords {
 public:
  // Uses (and creates) `directory`.
  explicit NodeVolumeRecords(std::string directory);

  Status save(const NodeVolumeRecord& record) const;
  // The record, nullopt when none, INTERNAL when unreadable.
  StatusOr<std::optional<NodeVolumeRecord>> load(const std::string& volumeId) const;
  // Removes the record; absent is success.
  Status remove(const std::string& volumeId) const;

 private:
  std::string pathFor(const std::string& volumeId) const;
  std::string directory_;
};

}  // namespace polycsi::server
