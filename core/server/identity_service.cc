#include "server/identity_service.hpp"

#include "server/advertised_capabilities.hpp"
#include "server/csi_validation.hpp"
#include "server/mutable_parameters.hpp"
#include "server/operation.hpp"

namespace polycsi::server {

using csi::v1::PluginCapability;

namespace {

// Describes every backend in the manifest so that clients (polycsictl checkup) learn over CSI
// alone what each backend supports:
//   backend/<name>                       "<plugin> <version>"
//   backend/<name>/capabilities          "SINGLE_NODE_WRITER/block=exclusive,..." (declared pairs)
//   backend/<name>/reason/<ACCESS>/<mode> the plugin's reason for a declared unsupported pair
//   backend/<name>/group_snapshot_consistency  "per-volume-sequence" | "crash-consistent"
//                                        (absent: the backend takes no group snapshots)
//   backend/<name>/mutable_parameters    "migrationTimeoutSeconds,performancePolicy,..." what a
//                                        VolumeAttributesClass may change (ControllerModifyVolume);
//                                        absent when nothing is mutable
//   backend/<name>/volume_condition      "controller,node", "controller" or "node": where the
//                                        backend reports volume health (VOLUME_CONDITION);
//                                        absent when nowhere
//   backend/<name>/default               "true" on the backend used when a class names none
//   backend/<name>/topology              "key=value,..." of the nodes that reach it, sorted by
//                                        key; absent when every node does (config/topology.hpp)
//   migration/timeout_seconds            "<default> <min> <max>" of migrationTimeoutSeconds
void describeBackends(const DriverContext& driver,
                      google::protobuf::Map<std::string, std::string>& manifest) {
  const auto* defaultBackend = driver.backends.defaultBackend();
  for (const auto* backend : driver.backends.all()) {
    const auto& d = backend->descriptor();
    const std::string prefix = "backend/" + backend->name();
    manifest[prefix] = d.name + " " + d.version;
    std::string matrix;
    for (const auto& c : d.capabilities) {
      const std::string pair =
          std::string(accessModeName(c.accessMode)) + "/" + volumeModeName(c.volumeMode);
      if (!matrix.empty()) matrix += ",";
      matrix += pair + "=" + semanticsName(c.semantics);
      if (c.semantics == AttachSemantics::kUnsupported && !c.reason.empty())
        manifest[prefix + "/reason/" + pair] = c.reason;
    }
    manifest[prefix + "/capabilities"] = matrix;
    // What a group snapshot of this backend's volumes guarantees (polycsictl reports it).
    if (backend->features().snapshots && d.groupSnapshotConsistency != GroupConsistency::kNone)
      manifest[prefix + "/group_snapshot_consistency"] =
          groupConsistencyName(d.groupSnapshotConsistency);
    // What a VolumeAttributesClass may change, as ControllerModifyVolume checks it.
    std::string mutableNames = hasMigrationWindow(d) ? kMigrationTimeoutParameter : "";
    for (const auto& spec : d.parameters)
      if (spec.isMutable) mutableNames += (mutableNames.empty() ? "" : ",") + spec.name;
    if (!mutableNames.empty()) manifest[prefix + "/mutable_parameters"] = mutableNames;
    std::string conditions = backend->features().controllerVolumeCondition ? "controller" : "";
    if (backend->features().volumeCondition) conditions += conditions.empty() ? "node" : ",node";
    if (!conditions.empty()) manifest[prefix + "/volume_condition"] = conditions;
    if (backend == defaultBackend) manifest[prefix + "/default"] = "true";
    std::string segments;
    for (const auto& [key, value] : backend->topology())
      segments += (segments.empty() ? "" : ",") + key + "=" + value;
    if (!segments.empty()) manifest[prefix + "/topology"] = segments;
  }
  manifest["migration/timeout_seconds"] = std::to_string(kMigrationTimeoutDefault) + " " +
                                          std::to_string(kMigrationTimeoutMin) + " " +
                                          std::to_string(kMigrationTimeoutMax);
}

}  // namespace

grpc::Status IdentityService::GetPluginInfo(grpc::ServerContext* ctx,
                                            const csi::v1::GetPluginInfoRequest*,
                                            csi::v1::GetPluginInfoResponse* resp) {
  Operation op(driver_, "GetPluginInfo", ctx);
  resp->set_name(driver_.config.driverName);
  resp->set_vendor_version(driver_.version);
  describeBackends(driver_, *resp->mutable_manifest());
  return op.finish(Status::ok());
}

grpc::Status IdentityService::GetPluginCapabilities(grpc::ServerContext* ctx,
                                                    const csi::v1::GetPluginCapabilitiesRequest*,
                                                    csi::v1::GetPluginCapabilitiesResponse* resp) {
  Operation op(driver_, "GetPluginCapabilities", ctx);
  if (driver_.servesController()) {
    resp->add_capabilities()->mutable_service()->set_type(
        PluginCapability::Service::CONTROLLER_SERVICE);
  }
  // The same rule as ControllerGetCapabilities (advertised_capabilities.hpp).
  const auto advertised = AdvertisedCapabilities::of(driver_.backends);
  // external-provisioner then passes accessibility_requirements to CreateVolume, and kubelet
  // records the segments NodeGetInfo reports (docs/topology.md).
  if (advertised.accessibilityConstraints) {
    resp->add_capabilities()->mutable_service()->set_type(
        PluginCapability::Service::VOLUME_ACCESSIBILITY_CONSTRAINTS);
  }
  if (driver_.servesController() && advertised.groupSnapshots) {
    resp->add_capabilities()->mutable_service()->set_type(
        PluginCapability::Service::GROUP_CONTROLLER_SERVICE);
  }
  if (advertised.controllerExpand) {
    resp->add_capabilities()->mutable_volume_expansion()->set_type(
        PluginCapability::VolumeExpansion::ONLINE);
  }
  return op.finish(Status::ok());
}

grpc::Status IdentityService::Probe(grpc::ServerContext* ctx, const csi::v1::ProbeRequest*,
                                    csi::v1::ProbeResponse* resp) {
  Operation op(driver_, "Probe", ctx);
  resp->mutable_ready()->set_value(driver_.serving());
  return op.finish(Status::ok());
}

}  // namespace polycsi::server
