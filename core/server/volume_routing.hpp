// Routes CSI ids to backend instances: a volume or snapshot id names its backend
// (volume/volume_id.hpp); a CreateVolume's `backend` parameter (or the default) picks one.
#pragma once

#include <google/protobuf/map.h>

#include <string>
#include <vector>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"
#include "server/driver_context.hpp"
#include "volume/volume_id.hpp"

namespace polycsi::server {

struct RoutedId {
  const plugin_host::ConfiguredBackend* backend = nullptr;
  std::string csiId;    // the id as the CO knows it
  std::string localId;  // the plugin's own id
};

// NOT_FOUND when the id is not polycsi's (no such volume or snapshot can exist);
// FAILED_PRECONDITION, naming the backend and the configured ones, when the id names a backend
// that is not configured: whether that volume still exists is unknown, never "gone".
// An id of rds-csi's exact volume shape (volume/rds_csi_ids.hpp) routes to the backend with
// adopt_rds_csi_volumes, its local id unchanged; without such a backend, and for rds-csi's
// snapshot ids, it is FAILED_PRECONDITION (such an id may name live data). With that backend
// configured, an id rds-csi accepted beyond its exact shape is FAILED_PRECONDITION too.
StatusOr<RoutedId> routeId(const DriverContext& driver, const std::string& csiId);

// "a, b, c" (or "none"): the configured backend names, for messages.
std::string configuredBackendNames(const DriverContext& driver);

// The backend a StorageClass selects; INVALID_ARGUMENT naming the parameter when unknown, or
// when no backend is named and there is no default.
StatusOr<const plugin_host::ConfiguredBackend*> routeParameters(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params);

// The backends a StorageClass spans: `backends` ("a,b": several instances of one plugin, in
// that order, spaces around names ignored), else routeParameters' one backend. INVALID_ARGUMENT
// naming the parameter for an unknown or repeated name, an empty list, backends of different
// plugins, or both `backend` and `backends`.
StatusOr<std::vector<const plugin_host::ConfiguredBackend*>> routeClassBackends(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params);

// The backend's id for a plugin-local id; INTERNAL when the plugin returned an invalid id.
// The rds-csi adopter's local ids of rds-csi's volume shape stay bare, as rds-csi named them.
StatusOr<std::string> csiIdOf(const plugin_host::ConfiguredBackend& backend,
                              const std::string& localId);

}  // namespace polycsi::server
