// The migration window a volume's VolumeAttributesClass sets, read from the Kubernetes API.
//
// PersistentVolume spec.csi.volumeAttributes are immutable, and the controller's attachment
// store is local to one replica, so neither can hold a window that ControllerModifyVolume
// changed. The cluster holds it instead: external-resizer v1.12.0 calls ControllerModifyVolume
// with the parameters of the claim's target class and, only after it succeeded, sets the PV's
// spec.volumeAttributesClassName (and the claim's status.currentVolumeAttributesClassName) to
// that class (pkg/modifycontroller/modify_status.go, markControllerModifyVolumeCompleted);
// external-provisioner v5.1.0 sets spec.volumeAttributesClassName on the PV it creates
// (pkg/controller/controller.go). A VolumeAttributesClass's parameters are immutable. So the
// PV's class names the window the storage accepted, on every replica and after any takeover.
// Precedence: the class's migrationTimeoutSeconds, else the StorageClass's (recorded in the
// volume context at CreateVolume), else the default.
//
// THREADING: thread-safe (KubeClient is). Every call does at most three GETs, each bounded by
// the client's timeout.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "kube/kube_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// The class's parameter `migrationTimeoutSeconds` as text, for the PersistentVolume `pv` (its
// JSON as the API serves it): nullopt when the PV names no class or the class has no such
// parameter. The class is read from storage.k8s.io/v1 (Kubernetes 1.34+), else v1beta1
// (1.31-1.33, what external-resizer v1.12.0 itself reads). A class neither serves is a
// warning and nullopt (the StorageClass's window applies). Other API errors are returned
// (UNAVAILABLE, PERMISSION_DENIED...): a window must not silently fall back to a longer one.
StatusOr<std::optional<std::string>> classMigrationTimeout(kube::KubeClient& client,
                                                           const nlohmann::json& pv);

// classMigrationTimeout parsed: nullopt when the class sets none, or sets a value outside
// 30-3600 s (ControllerModifyVolume and CreateVolume refuse such a class, so only a hand-made
// PV can carry one; logged as a warning, and the StorageClass's window applies).
StatusOr<std::optional<int>> classMigrationTimeoutSeconds(kube::KubeClient& client,
                                                          const nlohmann::json& pv);

// The PersistentVolume named `pvName`, or, when that is empty, the one bound to the claim
// `pvcNamespace`/`pvcName` (its spec.volumeName; volumes created before polycsi recorded the
// PV's name). nullopt when neither is known or the object is gone (logged); other API errors
// are returned.
StatusOr<std::optional<nlohmann::json>> findPersistentVolume(kube::KubeClient& client,
                                                             const std::string& pvName,
                                                             const std::string& pvcNamespace,
                                                             const std::string& pvcName);

}  // namespace polycsi::server
