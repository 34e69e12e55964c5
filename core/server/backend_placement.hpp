// Where a new volume of a StorageClass goes when the class spans several backends
// (`backends: a,b`, docs/topology.md), and which backends a topology segment reaches.
//
// The order of choice, for CreateVolume's accessibility_requirements:
//   1. Only backends whose topology serves at least one `requisite` topology are eligible (all,
//      when there is no requisite). None: RESOURCE_EXHAUSTED (CSI CreateVolume: "Unable to
//      provision in accessible_topology").
//   2. Eligible backends are tried in tiers: those serving the first `preferred` topology, then
//      the second, ..., then those serving the requisite topologies in order, then the rest.
//   3. Within a tier, a backend whose free capacity (the plugin's GetCapacity with the class's
//      parameters) is below the required bytes is skipped; of the others the one with the most
//      free bytes wins, equal free bytes going to the one listed first in `backends`. A backend
//      that cannot report capacity ranks after those that can, in list order.
//   4. No backend with room in any tier: RESOURCE_EXHAUSTED naming each backend's free bytes.
// A backend whose capacity query fails is skipped (its error is logged and reported when no
// other backend is left).
//
// THREADING: pure functions apart from the capacity callback, which they call sequentially.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "csi.pb.h"
#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// The topologies accessibility_requirements names: preferred in order, then requisite in
// order, without repeats.
std::vector<StringMap> requestedTopologies(const csi::v1::TopologyRequirement& requirement);

// The free bytes of one backend, or its error.
using CapacityOf = std::function<StatusOr<int64_t>(const plugin_host::ConfiguredBackend&)>;

// Chooses the backend for a new volume of `requiredBytes` among `backends` (the class's, in
// its order) by the rule above. `capacityOf` is asked only for backends whose plugin reports
// capacity; without it (a single-backend class) the first eligible backend is the answer and
// its plugin reports a lack of room itself.
StatusOr<const plugin_host::ConfiguredBackend*> chooseBackend(
    const std::vector<const plugin_host::ConfiguredBackend*>& backends,
    const csi::v1::TopologyRequirement* requirement, int64_t requiredBytes,
    const CapacityOf& capacityOf);

// The backends of `backends` a node (or GetCapacity request) with `topology` reaches.
std::vector<const plugin_host::ConfiguredBackend*> backendsServing(
    const std::vector<const plugin_host::ConfiguredBackend*>& backends, const StringMap& topology);

// "{k=v, k2=v2}", or "{any node}" for an empty segment map: for messages.
std::string describeSegments(const StringMap& segments);

}  // namespace polycsi::server
