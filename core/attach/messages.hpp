// User-facing texts of the attachment state machine: the FAILED_PRECONDITION messages a
// ControllerPublish caller sees and the Kubernetes event messages of a migration. The wording of
// the migration limit, migration timeout and event messages is the user's documented interface
// (docs/kubevirt-migration.md, "Monitoring" and "Troubleshooting"): keep it exact.
// THREADING: pure functions, safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::attach {

// `d` as Go's time.Duration.String prints it: "0s", "45s", "5m0s", "1h0m0s", "1.5s", "1m0.25s",
// "1.2ms", "3µs", "7ns", "-2s". Hours are never folded into days.
std::string formatDuration(std::chrono::nanoseconds d);

// `d` truncated toward zero to whole seconds, then formatted as formatDuration does
// ("5m2s"): the precision the user's messages show.
std::string formatWholeSeconds(std::chrono::nanoseconds d);

// "[node1, node2]": nodes in the given order, as the seed's "Attached nodes: [...]".
// The node name part of a CSI node id ("node-a|rds_nvme=nqn..." -> "node-a").
std::string nodeDisplayName(const std::string& nodeId);

std::string formatNodeList(const std::vector<std::string>& nodes);

// "Volume <id> already attached to 2 nodes (migration limit). Attached nodes: [<a>, <b>]"
std::string migrationLimitMessage(const std::string& volumeId,
                                  const std::vector<std::string>& nodes);

// "Volume <id> migration timeout exceeded (<elapsed> elapsed, <max> max). Previous migration may
// be stuck. Detach source node to reset, or adjust migrationTimeoutSeconds in StorageClass."
// `elapsed` is shown truncated to whole seconds.
std::string migrationTimeoutMessage(const std::string& volumeId, std::chrono::nanoseconds elapsed,
                                    std::chrono::seconds max);

// "Volume <id> is already attached to node <node>; access mode allows a single node"
std::string exclusiveConflictMessage(const std::string& volumeId, const std::string& node);

// "Volume <id> is already published to node <node> as <recorded>; this publish asks for
// <requested>: unpublish it from that node first" (ALREADY_EXISTS, CSI).
std::string publishModeConflictMessage(const std::string& volumeId, const std::string& node,
                                       const std::string& recorded, const std::string& requested);

// A publish whose semantics differ from those the current attachments were granted under
// (e.g. an RWO publish joining an RWX attachment); names both and the attached nodes.
std::string semanticsMismatchMessage(const std::string& volumeId,
                                     const std::vector<std::string>& nodes,
                                     AttachSemantics attached, AttachSemantics requested);

// Event MigrationStarted: "[<id>]: KubeVirt live migration started - source: <s>, target: <t>,
// timeout: <timeout>".
std::string migrationStartedEventMessage(const std::string& volumeId, const std::string& source,
                                         const std::string& target, std::chrono::seconds timeout);

// Event MigrationCompleted: "[<id>]: KubeVirt live migration completed - source: <s> → target:
// <t> (duration: <whole seconds>)".
std::string migrationCompletedEventMessage(const std::string& volumeId, const std::string& source,
                                           const std::string& target,
                                           std::chrono::nanoseconds duration);

// Event MigrationFailed: "[<id>]: KubeVirt live migration failed - source: <s>, attempted
// target: <t>, reason: <reason>, elapsed: <whole seconds>".
std::string migrationFailedEventMessage(const std::string& volumeId, const std::string& source,
                                        const std::string& target, const std::string& reason,
                                        std::chrono::nanoseconds elapsed);

}  // namespace polycsi::attach
