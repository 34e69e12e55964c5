// The attachment state of one volume, as the attachment manager keeps it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::attach {

using Clock = std::chrono::system_clock;

// How a volume may be shared, decided at ControllerPublish from the plugin's capability matrix.
struct VolumePolicy {
  AttachSemantics semantics = AttachSemantics::kExclusive;
  std::chrono::seconds migrationTimeout{300};  // migration_window only
  // How this publish wants the node to use the volume (access mode, volume mode, read-only),
  // e.g. "SINGLE_NODE_WRITER/block/rw": a node already holding the volume in another mode is
  // ALREADY_EXISTS (CSI). Empty when unknown (attachments rebuilt from the cluster).
  std::string nodeMode;
};

// Where a PVC lives, for events (empty when unknown).
struct PvcRef {
  std::string name;
  std::string namespace_;

  bool operator==(const PvcRef&) const = default;
};

struct VolumeAttachmentState {
  std::string volumeId;
  std::string backend;        // backend name, for metrics labels
  std::string metricsPrefix;  // plugin's prefix, e.g. "rds_csi"
  AttachSemantics semantics = AttachSemantics::kExclusive;
  std::vector<std::string> nodes;  // attached nodes in attach order
  // Publish mode per attached node (VolumePolicy::nodeMode); a node without one is unknown.
  std::map<std::string, std::string> nodeModes;
  // Open migration window (migration_window, two nodes): source = nodes[0], target = nodes[1].
  std::optional<Clock::time_point> migrationStartedAt;
  std::chrono::seconds migrationTimeout{300};
  bool migrationTimedOut = false;  // timeout already reported (event + metric) once
  PvcRef pvc;

  // True while a migration window is open (source and target both attached).
  bool migrating() const { return migrationStartedAt.has_value(); }
  bool operator==(const VolumeAttachmentState&) const = default;
};

}  // namespace polycsi::attach
