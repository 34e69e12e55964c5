// The controller-side volume condition (CSI VOLUME_CONDITION) of ControllerGetVolume and
// ListVolumes: what the core asks a plugin (the volume and the nodes the attachment store has
// it published to) and how a plugin's failure to answer becomes a condition, not an RPC error.
#pragma once

#include <string>
#include <vector>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// The query for backend-local volume `localId` published to the CSI node ids `nodeIds` (the
// attachment manager's order). Each node id is decoded into the node's name and the identity
// `backend`'s plugin reported on it (empty when the id carries none); a node id that does not
// decode is taken as a bare node name, as closing the storage fence does. Pure.
ConditionQuery conditionQueryFor(const plugin_host::ConfiguredBackend& backend,
                                 const std::string& localId,
                                 const std::vector<std::string>& nodeIds);

// One condition per query, in order, from one call to `backend`'s controller_volume_condition.
// Never fails: when the plugin returns an error (or has no such call) every volume gets an
// abnormal condition naming the backend and the error, because a condition describes the volume
// as the controller can see it and ListVolumes must still page past a backend it cannot reach
// (docs/volume-health.md). THREADING: as the plugin instance (concurrent calls are fine).
std::vector<VolumeCondition> controllerConditions(const plugin_host::ConfiguredBackend& backend,
                                                  const Call& call,
                                                  std::vector<ConditionQuery> queries);

}  // namespace polycsi::server
