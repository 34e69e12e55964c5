#include "server/identity_service.hpp"

#include "server/operation.hpp"

namespace polycsi::server {

using csi::v1::PluginCapability;

grpc::Status IdentityService::GetPluginInfo(grpc::ServerContext* ctx,
                                            const csi::v1::GetPluginInfoRequest*,
                                            csi::v1::GetPluginInfoResponse* resp) {
  Operation op(driver_, "GetPluginInfo", ctx);
  resp->set_name(driver_.config.driverName);
  resp->set_vendor_version(driver_.version);
  for (const auto* backend : driver_.backends.all())
    (*resp->mutable_manifest())["backend/" + backend->name()] =
        backend->descriptor().name + " " + backend->descriptor().version;
  return op.finish(Status::ok());
}

grpc::Status IdentityService::GetPluginCapabilities(
    grpc::ServerContext* ctx, const csi::v1::GetPluginCapabilitiesRequest*,
    csi::v1::GetPluginCapabilitiesResponse* resp) {
  Operation op(driver_, "GetPluginCapabilities", ctx);
  if (driver_.servesController()) {
    resp->add_capabilities()->mutable_service()->set_type(
        PluginCapability::Service::CONTROLLER_SERVICE);
  }
  bool expansion = false;
  for (const auto* backend : driver_.backends.all())
    expansion = expansion || backend->features().expandVolume;
  if (expansion) {
    resp->add_capabilities()->mutable_volume_expansion()->set_type(
        PluginCapability::VolumeExpansion::ONLINE);
  }
  return op.finish(Status::ok());
}

grpc::Status IdentityService::Probe(grpc::ServerContext* ctx, const csi::v1::ProbeRequest*,
                                    csi::v1::ProbeResponse* resp) {
  Operation op(driver_, "Probe", ctx);
  resp->mutable_ready()->set_value(driver_.ready.load());
  return op.finish(Status::ok());
}

}  // namespace polycsi::server
