// polycsictl checkup per StorageClass: the cluster's StorageClasses whose provisioner is the
// driver, each answered with its own parameters (its `backend`, its `migrationTimeoutSeconds`)
// instead of the backend's defaults, and with the reason when the class cannot create volumes
// at all (a backend the driver does not have, a window CreateVolume would refuse).
// The rules are the driver's own (docs/configuration.md, "StorageClass parameters"):
// `parameters.backend` names the backend, else the driver's default backend (with one backend,
// that one); `parameters.backends` names several of one plugin (docs/topology.md), judged with
// their shared matrix and named "a,b"; `migrationTimeoutSeconds` is a whole number of seconds
// within the driver's range, else CreateVolume fails with INVALID_ARGUMENT. Pure functions:
// thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "backend_checkup.hpp"

namespace polycsi::csictl {

// One BackendCheckup per StorageClass in `storageClassList` (the items of one or more
// storage.k8s.io/v1 StorageClassList answers) whose provisioner is `driver.driverName`, sorted
// by class name: the class's backend with fromStorageClass set, storageClass = the class name,
// migrationTimeoutSeconds = the class's window (or the driver's default), problem set when the
// class cannot create volumes, and the live-migration verdict judged with that window. Throws
// std::runtime_error naming the item when an item has no metadata.name.
std::vector<BackendCheckup> checkStorageClasses(const DriverCheckup& driver,
                                                const std::vector<nlohmann::json>& storageClasses);

}  // namespace polycsi::csictl
