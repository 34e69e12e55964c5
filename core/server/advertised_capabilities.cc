#include "server/advertised_capabilities.hpp"

#include "server/mutable_parameters.hpp"

namespace polycsi::server {

AdvertisedCapabilities AdvertisedCapabilities::of(const plugin_host::BackendRegistry& backends) {
  AdvertisedCapabilities out;
  const auto all = backends.all();
  // Listing is the exception to the union: external-attacher v4.7.0 (pkg/controller/
  // csi_handler.go ReconcileVA) compares every VolumeAttachment with the ListVolumes answer and
  // force-reprocesses each one whose volume is missing, i.e. publishes it again every resync.
  // A list without a non-listing backend's volumes is not the complete answer CSI's
  // ListVolumes promises, so it is advertised only when every backend lists.
  out.listVolumes = !all.empty();
  // CSI: with VOLUME_CONDITION every ListVolumes entry and every ControllerGetVolume answer MUST
  // carry a condition, and a backend without the check has none to give.
  out.controllerVolumeCondition = !all.empty();
  for (const auto* b : all) {
    const PluginFeatures f = b->features();
    out.createFromSnapshot = out.createFromSnapshot || f.restoreSnapshot;
    out.cloneVolume = out.cloneVolume || f.cloneVolume;
    out.listVolumes = out.listVolumes && f.listVolumes;
    out.controllerExpand = out.controllerExpand || f.expandVolume;
    // The core grows a block device's filesystem on the node for every plugin, so a volume
    // that grows on the controller also needs the node's step.
    out.nodeExpand = out.nodeExpand || f.expandVolume || f.nodeExpand;
    out.getCapacity = out.getCapacity || f.getCapacity;
    out.snapshots = out.snapshots || f.snapshots;
    out.volumeCondition = out.volumeCondition || f.volumeCondition;
    out.modifyVolume = out.modifyVolume || hasMutableParameters(*b);
    // Topology is the configuration's, not a plugin's: one backend with a segment makes
    // volumes' accessible_topology meaningful (the others are reachable from every node).
    out.accessibilityConstraints = out.accessibilityConstraints || !b->topology().empty();
    out.groupSnapshots =
        out.groupSnapshots ||
        (f.snapshots && b->descriptor().groupSnapshotConsistency != GroupConsistency::kNone);
    out.controllerVolumeCondition = out.controllerVolumeCondition && f.controllerVolumeCondition;
  }
  return out;
}

Status backendLacks(const plugin_host::ConfiguredBackend& backend, const std::string& rpc,
                    const std::string& what, Code code) {
  return Status(code, rpc + ": backend '" + backend.name() + "' (plugin " +
                          backend.descriptor().name + ") does not support " + what +
                          "; the capability is advertised because another configured backend "
                          "has it");
}

}  // namespace polycsi::server
