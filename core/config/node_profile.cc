#include "config/node_profile.hpp"

#include <limits>

#include "config/topology.hpp"

namespace polycsi::config {

std::string maxVolumesLabelKey(const DriverConfig& config) {
  return config.driverName + "/max-volumes-per-node";
}

std::optional<int64_t> parseVolumeCount(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const int digit = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string volumeCountProblem(std::string_view text) {
  return "must be a non-negative integer (0: no limit), got '" + std::string(text) + "'";
}

std::string describeSegments(const StringMap& segments) {
  if (segments.empty()) return "(none)";
  std::string out;
  for (const auto& [key, value] : segments) {
    if (!out.empty()) out += ", ";
    out += key + "=" + value;
  }
  return out;
}

StatusOr<NodeProfile> nodeProfile(const DriverConfig& config, const std::string& nodeName,
                                  const std::optional<StringMap>& labels) {
  NodeProfile profile;
  profile.maxVolumesPerNode = config.node.maxVolumesPerNode;
  if (!labels) {
    auto topology = nodeTopology(config);
    if (!topology.isOk()) return topology.status();
    profile.topology = std::move(*topology);
    return profile;
  }
  profile.labels = labels;
  for (const auto& backend : config.backends) {
    if (!segmentsServe(backend.topology, *labels)) continue;
    // A reached backend's segment agrees with the labels, so two reached backends agree too.
    for (const auto& [key, value] : backend.topology) profile.topology[key] = value;
  }
  const std::string labelKey = maxVolumesLabelKey(config);
  if (auto it = labels->find(labelKey); it != labels->end()) {
    auto count = parseVolumeCount(it->second);
    if (!count)
      return Status(Code::kInvalidArgument,
                    "node " + nodeName + ": label " + labelKey + " " +
                        volumeCountProblem(it->second) +
                        "; correct or remove the label (it overrides node.max_volumes_per_node "
                        "on this node)");
    profile.maxVolumesPerNode = *count;
    profile.maxVolumesSource = "node label " + labelKey;
  }
  return profile;
}

Status checkNodeReaches(const NodeProfile& profile, const BackendConfig& backend,
                        const std::string& nodeName) {
  if (!profile.labels || segmentsServe(backend.topology, *profile.labels)) return Status::ok();
  // The node's labels of the segment's keys are what decides; its other labels do not matter.
  std::string carried;
  for (const auto& [key, value] : backend.topology) {
    if (!carried.empty()) carried += ", ";
    auto it = profile.labels->find(key);
    carried += it == profile.labels->end() ? key + " (absent)" : key + "=" + it->second;
  }
  return Status(Code::kFailedPrecondition,
                "backend '" + backend.name + "' is reachable only from nodes in segment " +
                    describeSegments(backend.topology) + ", but node " + nodeName +
                    " has the labels " + carried +
                    " (node.topology_from_node_labels): this node cannot reach that storage "
                    "system; the volume must be used on a node of its segment");
}

}  // namespace polycsi::config
