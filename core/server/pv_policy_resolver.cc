#include "server/pv_policy_resolver.hpp"

#include <spdlog/spdlog.h>

#include "server/access_semantics.hpp"
#include "server/csi_validation.hpp"
#include "server/migration_window_key.hpp"
#include "server/volume_attributes_class.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

// Kubernetes access mode names to CSI access modes.
AccessMode accessModeOf(const std::string& mode) {
  if (mode == "ReadWriteOnce") return AccessMode::kSingleNodeWriter;
  if (mode == "ReadWriteOncePod") return AccessMode::kSingleNodeSingleWriter;
  if (mode == "ReadOnlyMany") return AccessMode::kMultiNodeReaderOnly;
  if (mode == "ReadWriteMany") return AccessMode::kMultiNodeMultiWriter;
  return AccessMode::kUnknown;
}

std::string stringAt(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* key : path) {
    if (!at->is_object() || !at->contains(key)) return {};
    at = &(*at)[key];
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

}  // namespace

kube::PolicyResolver makePvPolicyResolver(const DriverContext& driver,
                                          kube::EventRecorder* events) {
  return [&driver, events](const std::string& volumeHandle,
                           const nlohmann::json& pv) -> StatusOr<kube::ResolvedVolume> {
    auto routed = routeId(driver, volumeHandle);
    if (!routed.isOk()) return routed.status();
    const auto& descriptor = routed->backend->descriptor();
    VolumeMode volumeMode = stringAt(pv, {"spec", "volumeMode"}) == "Block"
                                ? VolumeMode::kBlock
                                : VolumeMode::kFilesystem;
    // The PV's most permissive access mode decides how many nodes may hold it.
    AttachSemantics semantics = AttachSemantics::kUnsupported;
    if (pv.contains("spec") && pv["spec"].contains("accessModes"))
      for (const auto& mode : pv["spec"]["accessModes"]) {
        if (!mode.is_string()) continue;
        auto s = effectiveSemantics(descriptor, accessModeOf(mode.get<std::string>()), volumeMode);
        if (static_cast<int>(s) > static_cast<int>(semantics)) semantics = s;
      }
    if (semantics == AttachSemantics::kUnsupported)
      return Status(Code::kFailedPrecondition,
                    "PV of " + volumeHandle + " has no access mode its backend supports");
    kube::ResolvedVolume resolved;
    resolved.backend = routed->backend->name();
    resolved.metricsPrefix = descriptor.metricsPrefix;
    resolved.pvc.name = stringAt(pv, {"spec", "claimRef", "name"});
    resolved.pvc.namespace_ = stringAt(pv, {"spec", "claimRef", "namespace"});
    int timeout = kMigrationTimeoutDefault;
    const nlohmann::json* attributes = nullptr;
    if (pv.contains("spec") && pv["spec"].contains("csi") &&
        pv["spec"]["csi"].contains("volumeAttributes"))
      attributes = &pv["spec"]["csi"]["volumeAttributes"];
    std::optional<std::string> key;
    if (attributes != nullptr && attributes->is_object())
      key = migrationWindowKey([&](const char* k) { return attributes->contains(k); },
                               isAdoptedRdsCsiVolume(*routed->backend, volumeHandle));
    if (key) {
      const nlohmann::json& value = (*attributes)[*key];
      auto parsed =
          parseMigrationTimeout(value.is_string() ? value.get<std::string>() : value.dump());
      if (parsed.isOk()) {
        timeout = *parsed;
      } else {
        const std::string pvName = stringAt(pv, {"metadata", "name"});
        const std::string message =
            "PersistentVolume " + (pvName.empty() ? "of " + volumeHandle : pvName) +
            ": volume attribute " + *key + ": " + parsed.status().message() +
            "; its migrations get the default " + std::to_string(kMigrationTimeoutDefault) +
            "s window";
        spdlog::warn("{}", message);
        if (events != nullptr)
          events->volumeWarning(resolved.pvc, volumeHandle, "InvalidMigrationTimeout", message);
      }
    }
    // A VolumeAttributesClass that ControllerModifyVolume accepted wins over the StorageClass's
    // window recorded in the PV (volume_attributes_class.hpp).
    if (semantics == AttachSemantics::kMigrationWindow && driver.kube != nullptr) {
      auto fromClass = classMigrationTimeoutSeconds(*driver.kube, pv);
      if (!fromClass.isOk()) return fromClass.status();
      if (*fromClass) timeout = **fromClass;
    }
    resolved.policy = attach::VolumePolicy{semantics, std::chrono::seconds(timeout)};
    return resolved;
  };
}

}  // namespace polycsi::server
