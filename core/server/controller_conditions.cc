#include "server/controller_conditions.hpp"

#include <spdlog/spdlog.h>

#include "volume/volume_id.hpp"

namespace polycsi::server {

ConditionQuery conditionQueryFor(const plugin_host::ConfiguredBackend& backend,
                                 const std::string& localId,
                                 const std::vector<std::string>& nodeIds) {
  ConditionQuery query{localId, {}};
  for (const auto& nodeId : nodeIds) {
    auto decoded = volume::decodeNodeId(nodeId);
    const volume::NodeId node = decoded.isOk() ? *decoded : volume::NodeId{nodeId, {}};
    auto found = node.identities.find(backend.descriptor().name);
    query.publishedNodes.push_back(
        PublishedNode{node.name, found == node.identities.end() ? std::string() : found->second});
  }
  return query;
}

std::vector<VolumeCondition> controllerConditions(const plugin_host::ConfiguredBackend& backend,
                                                  const Call& call,
                                                  std::vector<ConditionQuery> queries) {
  const size_t count = queries.size();
  if (count == 0) return {};
  auto answered = backend.instance().controllerVolumeConditions(
      ControllerConditionRequest{call, std::move(queries)});
  if (answered.isOk()) return std::move(*answered);
  spdlog::warn("volume condition of {} volume(s) on backend '{}': {}", count, backend.name(),
               answered.status().toString());
  const VolumeCondition unknown{
      true, "backend '" + backend.name() +
                "' could not report the volume's condition: " + answered.status().message()};
  return std::vector<VolumeCondition>(count, unknown);
}

}  // namespace polycsi::server
