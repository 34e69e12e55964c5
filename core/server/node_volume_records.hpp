// What the node side knows about each staged volume, kept on disk so that NodePublish,
// NodeUnstage, stats and expansion work after a restart of the node plugin: which backend,
// what the plugin attached (device or mount source), where it is staged and, for an encrypted
// volume, the LUKS mapping opened on the device (so unstage closes it and expansion grows it).
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
  // Device-mapper name of the LUKS2 mapping opened on attachment.devicePath; empty when the
  // volume is not encrypted. Records written before encryption existed load with it empty.
  std::string luksMapping;

  // The device the volume's data is on: the LUKS mapping when encrypted, else what the plugin
  // attached. What is formatted, mounted, published as raw block and measured.
  std::string dataDevicePath() const;
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
