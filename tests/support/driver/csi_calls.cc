#include "csi_calls.hpp"

#include "csi_requests.hpp"

namespace polycsi::testing {
namespace {

void copyContext(const VolumeContext& from, google::protobuf::Map<std::string, std::string>* to) {
  for (const auto& [key, value] : from) (*to)[key] = value;
}

}  // namespace

VolumeContext contextOf(const csi::v1::Volume& volume) {
  return {volume.volume_context().begin(), volume.volume_context().end()};
}

grpc::Status CsiCalls::create(const std::string& name, int64_t bytes,
                              const csi::v1::VolumeCapability& cap,
                              csi::v1::CreateVolumeResponse* out) {
  auto ctx = rpcContext();
  return driver_.controller().CreateVolume(ctx.get(), createRequest(name, bytes, cap), out);
}

grpc::Status CsiCalls::pluginInfo(csi::v1::GetPluginInfoResponse* out) {
  auto ctx = rpcContext();
  return driver_.identity().GetPluginInfo(ctx.get(), {}, out);
}

grpc::Status CsiCalls::deleteVolume(const std::string& volumeId) {
  csi::v1::DeleteVolumeRequest req;
  req.set_volume_id(volumeId);
  csi::v1::DeleteVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.controller().DeleteVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::controllerPublish(const std::string& volumeId, const std::string& nodeId,
                                         const csi::v1::VolumeCapability& cap,
                                         const VolumeContext& context,
                                         csi::v1::ControllerPublishVolumeResponse* out) {
  csi::v1::ControllerPublishVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_node_id(nodeId);
  *req.mutable_volume_capability() = cap;
  copyContext(context, req.mutable_volume_context());
  csi::v1::ControllerPublishVolumeResponse resp;
  auto ctx = rpcContext();
  grpc::Status status = driver_.controller().ControllerPublishVolume(ctx.get(), req, &resp);
  if (out != nullptr) *out = resp;
  return status;
}

grpc::Status CsiCalls::controllerUnpublish(const std::string& volumeId, const std::string& nodeId) {
  csi::v1::ControllerUnpublishVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_node_id(nodeId);
  csi::v1::ControllerUnpublishVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.controller().ControllerUnpublishVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::stage(const std::string& volumeId, const std::string& stagingPath,
                             const csi::v1::VolumeCapability& cap, const VolumeContext& context) {
  csi::v1::NodeStageVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_staging_target_path(stagingPath);
  *req.mutable_volume_capability() = cap;
  copyContext(context, req.mutable_volume_context());
  csi::v1::NodeStageVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.node().NodeStageVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::unstage(const std::string& volumeId, const std::string& stagingPath) {
  csi::v1::NodeUnstageVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_staging_target_path(stagingPath);
  csi::v1::NodeUnstageVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.node().NodeUnstageVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::publish(const std::string& volumeId, const std::string& stagingPath,
                               const std::string& targetPath, const csi::v1::VolumeCapability& cap,
                               const VolumeContext& context, bool readonly) {
  csi::v1::NodePublishVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_staging_target_path(stagingPath);
  req.set_target_path(targetPath);
  req.set_readonly(readonly);
  *req.mutable_volume_capability() = cap;
  copyContext(context, req.mutable_volume_context());
  csi::v1::NodePublishVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.node().NodePublishVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::unpublish(const std::string& volumeId, const std::string& targetPath) {
  csi::v1::NodeUnpublishVolumeRequest req;
  req.set_volume_id(volumeId);
  req.set_target_path(targetPath);
  csi::v1::NodeUnpublishVolumeResponse resp;
  auto ctx = rpcContext();
  return driver_.node().NodeUnpublishVolume(ctx.get(), req, &resp);
}

grpc::Status CsiCalls::volumeStats(const std::string& volumeId, const std::string& volumePath,
                                   csi::v1::NodeGetVolumeStatsResponse* out) {
  csi::v1::NodeGetVolumeStatsRequest req;
  req.set_volume_id(volumeId);
  req.set_volume_path(volumePath);
  csi::v1::NodeGetVolumeStatsResponse resp;
  auto ctx = rpcContext();
  grpc::Status status = driver_.node().NodeGetVolumeStats(ctx.get(), req, &resp);
  if (out != nullptr) *out = resp;
  return status;
}

std::string CsiCalls::nodeId() {
  csi::v1::NodeGetInfoResponse resp;
  auto ctx = rpcContext();
  if (!driver_.node().NodeGetInfo(ctx.get(), {}, &resp).ok()) return "";
  return resp.node_id();
}

}  // namespace polycsi::testing
