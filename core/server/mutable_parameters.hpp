// Which StorageClass / VolumeAttributesClass parameters may change on a live volume
// (ControllerModifyVolume, and CreateVolume's mutable_parameters), and the check of a request's
// mutable parameters against them. A parameter is mutable when:
//   - the plugin's descriptor marks it so (SettingSpec::isMutable, ABI 1.3), the plugin then
//     applies it through modify_volume; or
//   - it is the core's migrationTimeoutSeconds and the backend's plugin has a migration_window
//     pair in its capability matrix: the core reads it from the volume's VolumeAttributesClass
//     at the next migration (server/volume_attributes_class.hpp), the plugin never sees it.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>

#include "csi.pb.h"
#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// True when any (access mode, volume mode) pair of `descriptor` has migration_window semantics.
bool hasMigrationWindow(const Descriptor& descriptor);

// True when `backend` has at least one mutable parameter (its own or the core's).
bool hasMutableParameters(const plugin_host::ConfiguredBackend& backend);

// The names of `backend`'s mutable parameters, comma-separated, or "none".
std::string mutableParameterNames(const plugin_host::ConfiguredBackend& backend);

// A request's mutable parameters split by owner.
struct MutableParameters {
  StringMap plugin;                            // for the plugin (create parameters / modify_volume)
  std::optional<int> migrationTimeoutSeconds;  // the core's, when present
};

// Checks every key of `params` (the request field `field`, e.g. "mutable_parameters") is
// mutable for `backend` and its value has the declared kind (integer, boolean) or, for
// migrationTimeoutSeconds, is an integer in [30, 3600]. INVALID_ARGUMENT naming the field, the
// parameter and the backend (with the plugin and the mutable ones) otherwise.
StatusOr<MutableParameters> checkMutableParameters(
    const plugin_host::ConfiguredBackend& backend,
    const google::protobuf::Map<std::string, std::string>& params, const std::string& field);

}  // namespace polycsi::server
