#include "server/volume_routing.hpp"

#include "server/csi_validation.hpp"

namespace polycsi::server {

StatusOr<RoutedId> routeId(const DriverContext& driver, const std::string& csiId) {
  auto decoded = volume::decodeVolumeId(csiId);
  if (!decoded.isOk()) return decoded.status();
  const plugin_host::Backend* backend = driver.backends.find(decoded->backend);
  // Not "no such volume": the volume may well exist on a storage system this configuration no
  // longer names, and only that system can say it is gone. Treating it as gone would let a
  // delete or an unpublish report success while the data or the export stays.
  if (backend == nullptr)
    return Status(Code::kFailedPrecondition,
                  "id " + csiId + " names backend '" + decoded->backend +
                      "', which is not in this driver's configuration (configured: " +
                      configuredBackendNames(driver) + "); add a backend named '" +
                      decoded->backend + "' (or restore its old name) to manage this volume");
  return RoutedId{backend, csiId, decoded->local};
}

std::string configuredBackendNames(const DriverContext& driver) {
  std::string names;
  for (const auto* b : driver.backends.all()) names += (names.empty() ? "" : ", ") + b->name();
  return names.empty() ? "none" : names;
}

StatusOr<const plugin_host::Backend*> routeParameters(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params) {
  auto it = params.find(kBackendParameter);
  if (it != params.end()) {
    const plugin_host::Backend* backend = driver.backends.find(it->second);
    if (backend == nullptr) {
      return Status(Code::kInvalidArgument, "parameters.backend: unknown backend '" + it->second +
                                                "' (configured: " + configuredBackendNames(driver) +
                                                ")");
    }
    return backend;
  }
  const plugin_host::Backend* backend = driver.backends.defaultBackend();
  if (backend == nullptr)
    return Status(Code::kInvalidArgument,
                  "parameters.backend is required: several backends are configured and none is "
                  "the default");
  return backend;
}

StatusOr<std::string> csiIdOf(const plugin_host::Backend& backend, const std::string& localId) {
  auto encoded = volume::encodeVolumeId({backend.name(), localId});
  if (!encoded.isOk())
    return Status(Code::kInternal, "plugin " + backend.descriptor().name +
                                       " returned an unusable id '" + localId +
                                       "': " + encoded.status().message());
  return encoded;
}

}  // namespace polycsi::server
