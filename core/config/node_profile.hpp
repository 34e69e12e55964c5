// What a node process says about itself in NodeGetInfo, and which backends it may stage: its
// topology segments and its volume limit, from the configuration and, with
// `node.topology_from_node_labels: true`, from its own Node object's labels (docs/topology.md).
//
// Two ways to know which backends a node reaches:
//  - from the configuration (the default): every backend listed reaches the node; the node
//    reports the union of their segments, and a node's configuration lists only its backends
//    (one DaemonSet per rack);
//  - from the node's labels: the configuration lists every backend of the cluster, and the node
//    reaches those whose `topology` its labels carry (every key with the same value,
//    segmentsServe), as Dell csi-powerstore matches an array's labels to the node's
//    (`labelsMatch`, pkg/node/node.go at 8db0ba6aa8f2399193d0244863728a21698cda25). One
//    DaemonSet serves every rack.
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/driver_config.hpp"
#include "polycsi/types.hpp"

namespace polycsi::config {

// The node label that overrides node.max_volumes_per_node on one node:
// "<driver_name>/max-volumes-per-node" (Dell csi-powerstore reads `max-powerstore-volumes-per-node`
// for the same purpose, pkg/node/node.go NodeGetInfo). Read only when the node reads its labels.
std::string maxVolumesLabelKey(const DriverConfig& config);

// A volume count written as text: decimal digits only, at most INT64_MAX; nullopt otherwise.
std::optional<int64_t> parseVolumeCount(std::string_view text);
// Why `text` is not a volume count, for messages: "must be a non-negative integer (0: no limit),
// got '<text>'".
std::string volumeCountProblem(std::string_view text);

struct NodeProfile {
  // This Node's labels when node.topology_from_node_labels is on (read at start), else nullopt.
  std::optional<StringMap> labels;
  // NodeGetInfo.accessible_topology.
  StringMap topology;
  // NodeGetInfo.max_volumes_per_node (0: no limit).
  int64_t maxVolumesPerNode = 0;
  // Where maxVolumesPerNode came from, for the start-up log: "node.max_volumes_per_node" or
  // "node label <key>".
  std::string maxVolumesSource = "node.max_volumes_per_node";
};

// The profile of node `nodeName` serving `config`. `labels` are the Node's labels, given exactly
// when config.node.topologyFromNodeLabels. Without labels the topology is nodeTopology(config)
// (INVALID_ARGUMENT when two backends conflict); with them, the union of the segments of the
// backends the labels reach (which cannot conflict: each agrees with the labels). A
// max-volumes label that is not a volume count is INVALID_ARGUMENT naming the node, the label and
// its value: the operator set it for this node, and a limit silently ignored would let the
// scheduler put more volumes there than the operator allows.
StatusOr<NodeProfile> nodeProfile(const DriverConfig& config, const std::string& nodeName,
                                  const std::optional<StringMap>& labels);

// OK when node `nodeName` reaches `backend`; FAILED_PRECONDITION naming the backend, its segment
// and the node's labels of the segment's keys when it does not (only possible when the profile
// comes from labels: otherwise the configuration lists only what the node reaches).
Status checkNodeReaches(const NodeProfile& profile, const BackendConfig& backend,
                        const std::string& nodeName);

// "topology.polycsi.io/rack=r1, zone=a" (keys in order); "(none)" for an empty map.
std::string describeSegments(const StringMap& segments);

}  // namespace polycsi::config
