#include "server/volume_routing.hpp"

#include "server/csi_validation.hpp"

namespace polycsi::server {

StatusOr<RoutedId> routeId(const DriverContext& driver, const std::string& csiId) {
  auto decoded = volume::decodeVolumeId(csiId);
  if (!decoded.isOk()) return decoded.status();
  const plugin_host::Backend* backend = driver.backends.find(decoded->backend);
  if (backend == nullptr)
    return Status(Code::kNotFound, "id " + csiId + " names backend '" + decoded->backend +
                                       "', which this driver does not run");
  return RoutedId{backend, csiId, decoded->local};
}

StatusOr<const plugin_host::Backend*> routeParameters(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params) {
  auto it = params.find(kBackendParameter);
  if (it != params.end()) {
    const plugin_host::Backend* backend = driver.backends.find(it->second);
    if (backend == nullptr) {
      std::string known;
      for (const auto* b : driver.backends.all()) known += (known.empty() ? "" : ", ") + b->name();
      return Status(Code::kInvalidArgument, "parameters.backend: unknown backend '" + it->second +
                                                "' (configured: " + known + ")");
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
