// ControllerModifyVolume: applies a VolumeAttributesClass's parameters to a live volume.
// Order: argument checks -> every parameter mutable for the volume's backend (INVALID_ARGUMENT
// naming the parameter and the backend: external-resizer v1.12.0 then marks the claim's
// modification Infeasible and stops retrying) -> per-volume lock -> the volume exists -> the
// plugin applies its parameters. The core's migrationTimeoutSeconds is not stored here: the
// resizer records the class on the PV once this call succeeded, and the next migration reads it
// from there (server/volume_attributes_class.hpp); an open window keeps the length it opened
// with.
#include <spdlog/spdlog.h>

#include "attach/messages.hpp"
#include "server/controller_service.hpp"
#include "server/csi_validation.hpp"
#include "server/mutable_parameters.hpp"
#include "server/proto_maps.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

// The reason of the Normal event on the claim when migrationTimeoutSeconds changed.
constexpr char kMigrationTimeoutModifiedReason[] = "MigrationTimeoutModified";

// What a new window length means for `state` (the volume's attachments now).
std::string windowChangeMessage(const std::string& volumeId,
                                const attach::VolumeAttachmentState& state, int seconds) {
  const std::string length = attach::formatDuration(std::chrono::seconds(seconds));
  std::string message = "Volume " + volumeId + ": " + kMigrationTimeoutParameter + " is now " +
                        length + " and applies to the next migration";
  if (state.migrating())
    message += "; the migration open now (source: " + attach::nodeDisplayName(state.nodes[0]) +
               ", target: " + attach::nodeDisplayName(state.nodes[1]) + ") keeps its " +
               attach::formatDuration(state.migrationTimeout) + " window";
  return message;
}

}  // namespace

grpc::Status ControllerService::ControllerModifyVolume(
    grpc::ServerContext* ctx, const csi::v1::ControllerModifyVolumeRequest* req,
    csi::v1::ControllerModifyVolumeResponse*) {
  Operation op(driver_, "ControllerModifyVolume", ctx);
  return op.finish(modifyVolume(op, *req));
}

Status ControllerService::modifyVolume(Operation& op,
                                       const csi::v1::ControllerModifyVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  if (req.mutable_parameters().empty())
    return Status(Code::kInvalidArgument, "mutable_parameters is required");
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  auto params = checkMutableParameters(b, req.mutable_parameters(), "mutable_parameters");
  if (!params.isOk()) return params.status();
  auto lock = driver_.controllerLocks.tryLock(req.volume_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on volume " + req.volume_id() + " is pending");
  // CSI: a volume that does not exist is NOT_FOUND.
  auto existing = b.instance().getVolume(
      VolumeIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
  if (!existing.isOk()) return existing.status();
  if (!params->plugin.empty()) {
    if (auto s = b.instance().modifyVolume(ModifyVolumeRequest{
            op.call(), routed->localId, params->plugin, toStringMap(req.secrets())});
        !s.isOk())
      return s;
    std::string names;
    for (const auto& [key, value] : params->plugin)
      names += (names.empty() ? "" : ", ") + key + "=" + value;
    spdlog::info("volume {}: backend '{}' applied {}", req.volume_id(), b.name(), names);
  }
  if (params->migrationTimeoutSeconds) {
    attach::VolumeAttachmentState state;
    if (driver_.attachments != nullptr) state = driver_.attachments->state(req.volume_id());
    const std::string message =
        windowChangeMessage(req.volume_id(), state, *params->migrationTimeoutSeconds);
    spdlog::info("{}", message);
    if (driver_.events != nullptr)
      driver_.events->volumeNormal(state.pvc, req.volume_id(), kMigrationTimeoutModifiedReason,
                                   message);
  }
  return Status::ok();
}

}  // namespace polycsi::server
