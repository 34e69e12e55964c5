#include "server/volume_routing.hpp"

#include "server/csi_validation.hpp"
#include "volume/rds_csi_ids.hpp"

namespace polycsi::server {

namespace {

// An id of rds-csi's exact shape (docs/migrating-from-rds-csi.md). Such a handle reaches this
// driver only when it was configured with that driver's name, so the volume may well exist on
// an RDS: it is never "not found" (a delete would report success and leave the disk).
StatusOr<RoutedId> routeRdsCsiId(const DriverContext& driver, const std::string& csiId,
                                 const Status& notPolycsi) {
  if (volume::isRdsCsiSnapshotId(csiId))
    return Status(Code::kFailedPrecondition,
                  "id " + csiId +
                      " is a snapshot of rds-csi (rds.csi.srvlab.io); its snapshots are not "
                      "carried over (docs/migrating-from-rds-csi.md): restore it with rds-csi, "
                      "or remove its disk on the RDS by hand");
  const plugin_host::ConfiguredBackend* adopter = driver.backends.rdsCsiAdopter();
  if (adopter != nullptr && volume::isAmbiguousRdsCsiId(csiId))
    return Status(Code::kFailedPrecondition,
                  "id " + csiId +
                      " is not polycsi's and not clearly rds-csi's (its volume ids are "
                      "pvc-<lowercase uuid>), though rds-csi accepted such ids from its sanity "
                      "tests; backend '" +
                      adopter->name() +
                      "' serves only the exact shape, so this id is not acted on "
                      "(docs/migrating-from-rds-csi.md)");
  if (!volume::isRdsCsiVolumeId(csiId)) return notPolycsi;
  if (adopter == nullptr)
    return Status(Code::kFailedPrecondition,
                  "id " + csiId +
                      " is a volume handle of rds-csi (rds.csi.srvlab.io), and no backend "
                      "serves those; set 'adopt_rds_csi_volumes: true' on the rds_nvme backend "
                      "of that RDS (configured: " +
                      configuredBackendNames(driver) + "; docs/migrating-from-rds-csi.md)");
  // rds-csi's volume id is its RDS slot, as rds_nvme's local id is.
  return RoutedId{adopter, csiId, csiId};
}

}  // namespace

StatusOr<RoutedId> routeId(const DriverContext& driver, const std::string& csiId) {
  auto decoded = volume::decodeVolumeId(csiId);
  if (!decoded.isOk()) return routeRdsCsiId(driver, csiId, decoded.status());
  const plugin_host::ConfiguredBackend* backend = driver.backends.find(decoded->backend);
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

StatusOr<const plugin_host::ConfiguredBackend*> routeParameters(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params) {
  auto it = params.find(kBackendParameter);
  if (it != params.end()) {
    const plugin_host::ConfiguredBackend* backend = driver.backends.find(it->second);
    if (backend == nullptr) {
      return Status(Code::kInvalidArgument, "parameters.backend: unknown backend '" + it->second +
                                                "' (configured: " + configuredBackendNames(driver) +
                                                ")");
    }
    return backend;
  }
  const plugin_host::ConfiguredBackend* backend = driver.backends.defaultBackend();
  if (backend == nullptr)
    return Status(Code::kInvalidArgument,
                  "parameters.backend is required: several backends are configured and none is "
                  "the default");
  return backend;
}

StatusOr<std::vector<const plugin_host::ConfiguredBackend*>> routeClassBackends(
    const DriverContext& driver, const google::protobuf::Map<std::string, std::string>& params) {
  auto listed = params.find(kBackendsParameter);
  if (listed == params.end()) {
    auto one = routeParameters(driver, params);
    if (!one.isOk()) return one.status();
    return std::vector<const plugin_host::ConfiguredBackend*>{*one};
  }
  const std::string field = std::string("parameters.") + kBackendsParameter;
  if (params.find(kBackendParameter) != params.end())
    return Status(Code::kInvalidArgument,
                  field + ": give either backend (one) or backends (several), not both");
  std::vector<const plugin_host::ConfiguredBackend*> out;
  const std::string& text = listed->second;
  for (size_t start = 0; start <= text.size();) {
    size_t comma = text.find(',', start);
    std::string name =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t first = name.find_first_not_of(" \t");
    name = first == std::string::npos
               ? ""
               : name.substr(first, name.find_last_not_of(" \t") - first + 1);
    if (name.empty())
      return Status(Code::kInvalidArgument,
                    field + ": '" + text +
                        "' has an empty name; list backend names separated by "
                        "commas, e.g. rds-a,rds-b");
    const plugin_host::ConfiguredBackend* backend = driver.backends.find(name);
    if (backend == nullptr)
      return Status(Code::kInvalidArgument, field + ": unknown backend '" + name +
                                                "' (configured: " + configuredBackendNames(driver) +
                                                ")");
    for (const auto* seen : out)
      if (seen == backend)
        return Status(Code::kInvalidArgument, field + ": backend '" + name + "' is listed twice");
    // One class, one set of parameters and capabilities: the plugin's, which must be the same
    // for every backend a volume may land on.
    if (!out.empty() && backend->descriptor().name != out.front()->descriptor().name)
      return Status(Code::kInvalidArgument,
                    field + ": backends of one class must share a plugin; '" + out.front()->name() +
                        "' is " + out.front()->descriptor().name + ", '" + name + "' is " +
                        backend->descriptor().name);
    out.push_back(backend);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

StatusOr<std::string> csiIdOf(const plugin_host::ConfiguredBackend& backend,
                              const std::string& localId) {
  // The adopting backend names volumes as rds-csi did, so both drivers agree on every handle
  // of that shape (and a rollback to rds-csi keeps the volumes made meanwhile).
  if (backend.adoptsRdsCsiVolumes() && volume::isRdsCsiVolumeId(localId)) return localId;
  auto encoded = volume::encodeVolumeId({backend.name(), localId});
  if (!encoded.isOk())
    return Status(Code::kInternal, "plugin " + backend.descriptor().name +
                                       " returned an unusable id '" + localId +
                                       "': " + encoded.status().message());
  return encoded;
}

}  // namespace polycsi::server
