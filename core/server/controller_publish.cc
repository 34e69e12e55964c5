// ControllerPublishVolume / ControllerUnpublishVolume: the attachment state machine around
// storage-level fencing. Order matters for crash safety:
//   publish:   plan (may refuse) -> plugin publish (fence open) -> commit (persisted) -> answer
//   unpublish: plan -> plugin unpublish (fence closed) -> commit -> answer
// A crash between the plugin call and the commit is repaired by the CO's retry, because both
// plugin calls are idempotent and the plan is recomputed from the persisted state.
#include <spdlog/spdlog.h>

#include "attach/recorded_window.hpp"
#include "server/access_semantics.hpp"
#include "server/controller_service.hpp"
#include "server/csi_validation.hpp"
#include "server/migration_window_key.hpp"
#include "server/node_registration.hpp"
#include "server/proto_maps.hpp"
#include "server/storage_fence.hpp"
#include "server/volume_attributes_class.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

static_assert(attach::kRecordedWindowMaxSeconds == kMigrationTimeoutMax,
              "a recorded window is bounded as migrationTimeoutSeconds is");

// The migration window recorded in the volume context at CreateVolume (or by rds-csi, for a
// volume the rds-csi adopter serves: migration_window_key.hpp). A value CreateVolume would
// have refused (a hand-edited PV) gets the default window, as the reconciler gives it, and a
// warning: a window must never be unbounded or longer than the StorageClass rule allows.
std::chrono::seconds migrationTimeoutOf(const std::string& volumeId,
                                        const google::protobuf::Map<std::string, std::string>& c,
                                        bool adoptedRdsCsiVolume) {
  auto key =
      migrationWindowKey([&](const char* k) { return c.find(k) != c.end(); }, adoptedRdsCsiVolume);
  if (!key) return std::chrono::seconds(kMigrationTimeoutDefault);
  auto parsed = parseMigrationTimeout(c.find(*key)->second);
  if (parsed.isOk()) return std::chrono::seconds(*parsed);
  spdlog::warn("volume {}: volume context {}: {}; the default {}s window applies", volumeId, *key,
               parsed.status().message(), kMigrationTimeoutDefault);
  return std::chrono::seconds(kMigrationTimeoutDefault);
}

// The window a migration starting now gets: the migrationTimeoutSeconds of the PV's
// VolumeAttributesClass, which ControllerModifyVolume accepted (volume_attributes_class.hpp),
// else the volume context's (the StorageClass's, recorded at CreateVolume), else the default.
// Without a Kubernetes API only the context counts. An API error is returned (UNAVAILABLE: the
// attacher retries) rather than guessing a window the user may have shortened.
StatusOr<std::chrono::seconds> currentMigrationTimeout(
    const DriverContext& driver, const std::string& volumeId,
    const google::protobuf::Map<std::string, std::string>& context, bool adoptedRdsCsiVolume) {
  const std::chrono::seconds recorded = migrationTimeoutOf(volumeId, context, adoptedRdsCsiVolume);
  if (driver.kube == nullptr) return recorded;
  auto at = [&](const char* key) {
    auto it = context.find(key);
    return it == context.end() ? std::string() : it->second;
  };
  auto pv = findPersistentVolume(*driver.kube, at(kContextPvName), at(kContextPvcNamespace),
                                 at(kContextPvcName));
  if (!pv.isOk())
    return Status(pv.status().code(),
                  "reading the PersistentVolume of volume " + volumeId +
                      " for its VolumeAttributesClass: " + pv.status().message());
  if (!*pv) return recorded;
  auto fromClass = classMigrationTimeoutSeconds(*driver.kube, **pv);
  if (!fromClass.isOk())
    return Status(fromClass.status().code(), "reading the VolumeAttributesClass of volume " +
                                                 volumeId + ": " + fromClass.status().message());
  return *fromClass ? std::chrono::seconds(**fromClass) : recorded;
}

// How the node is to use the volume, as the attachment manager records it per node.
std::string publishModeOf(const CapabilityModes& modes, bool readonly) {
  return std::string(accessModeName(modes.access)) + "/" + volumeModeName(modes.volume) + "/" +
         (readonly ? "ro" : "rw");
}

attach::PvcRef pvcOf(const google::protobuf::Map<std::string, std::string>& context) {
  attach::PvcRef pvc;
  if (auto it = context.find(kContextPvcName); it != context.end()) pvc.name = it->second;
  if (auto it = context.find(kContextPvcNamespace); it != context.end())
    pvc.namespace_ = it->second;
  return pvc;
}

// The identity the node reported for this backend's plugin ("" when none).
std::string identityFor(const volume::NodeId& node, const plugin_host::ConfiguredBackend& backend) {
  auto it = node.identities.find(backend.descriptor().name);
  return it == node.identities.end() ? std::string() : it->second;
}

// NOT_FOUND when the backend's plugin cannot reach a node without its identity (an NVMe host
// NQN, an iSCSI IQN) and `node` carries none: to this backend no such node exists (CSI:
// ControllerPublishVolume "Node does not exist"). The node may have failed to read it when it
// registered (its NodeGetInfo logged why), or the id was not made by NodeGetInfo at all.
Status requireIdentityFor(const volume::NodeId& node,
                          const plugin_host::ConfiguredBackend& backend) {
  const Descriptor& d = backend.descriptor();
  if (d.nodeIdentityKind.empty() || !identityFor(node, backend).empty()) return Status::ok();
  return Status(Code::kNotFound, "node " + node.name + " registered no identity for plugin " +
                                     d.name + " (" + d.nodeIdentityKind + "): backend '" +
                                     backend.name() + "' cannot reach it; the node plugin on " +
                                     node.name +
                                     " logs why at NodeGetInfo, and registers the identity when "
                                     "it is restarted after the cause is fixed");
}

}  // namespace

grpc::Status ControllerService::ControllerPublishVolume(
    grpc::ServerContext* ctx, const csi::v1::ControllerPublishVolumeRequest* req,
    csi::v1::ControllerPublishVolumeResponse* resp) {
  Operation op(driver_, "ControllerPublishVolume", ctx);
  return op.finish(publish(op, *req, resp));
}

Status ControllerService::publish(Operation& op, const csi::v1::ControllerPublishVolumeRequest& req,
                                  csi::v1::ControllerPublishVolumeResponse* resp) {
  op.setSubject(req.volume_id() + " -> " + req.node_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  if (auto s = requireField(req.node_id(), "node_id"); !s.isOk()) return s;
  if (!req.has_volume_capability())
    return Status(Code::kInvalidArgument, "volume_capability is required");
  auto modes = checkCapability(req.volume_capability(), "volume_capability");
  if (!modes.isOk()) return modes.status();
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  auto node = volume::decodeNodeId(req.node_id());
  if (!node.isOk())
    return Status(Code::kNotFound,
                  "node " + req.node_id() + " is unknown: " + node.status().message());
  if (auto s = requireIdentityFor(*node, b); !s.isOk()) return s;
  AttachSemantics semantics = effectiveSemantics(b.descriptor(), modes->access, modes->volume);
  if (semantics == AttachSemantics::kUnsupported)
    return Status(Code::kInvalidArgument,
                  "volume_capability: " +
                      effectiveUnsupportedReason(b.descriptor(), modes->access, modes->volume));
  // Admitting a node needs every other attachment known: after a lost store, an RWO volume
  // attached elsewhere would otherwise be admitted here too.
  if (auto s = requireKnownAttachments("ControllerPublishVolume"); !s.isOk()) return s;
  if (auto s = requireAttachmentAuthority("ControllerPublishVolume"); !s.isOk()) return s;
  // The cluster knows the node (CSI: a node that does not exist is NOT_FOUND).
  if (auto s =
          requireRegisteredNode(driver_.kube, driver_.config.driverName, node->name, req.node_id());
      !s.isOk())
    return s;
  auto lock = driver_.controllerLocks.tryLock(req.volume_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on volume " + req.volume_id() + " is pending");

  auto existing = b.instance().getVolume(
      VolumeIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
  if (!existing.isOk()) return existing.status();

  std::chrono::seconds window(kMigrationTimeoutDefault);
  if (semantics == AttachSemantics::kMigrationWindow) {
    auto current = currentMigrationTimeout(driver_, req.volume_id(), req.volume_context(),
                                           isAdoptedRdsCsiVolume(b, req.volume_id()));
    if (!current.isOk()) return current.status();
    window = *current;
  }
  attach::VolumePolicy policy{semantics, window, publishModeOf(*modes, req.readonly())};
  auto plan =
      driver_.attachments->planPublish(req.volume_id(), req.node_id(), policy, b.name(),
                                       b.descriptor().metricsPrefix, pvcOf(req.volume_context()));
  if (!plan.isOk()) return plan.status();

  auto fenced = b.instance().publish(
      PublishRequest{op.call(), routed->localId, node->name, identityFor(*node, b), req.readonly(),
                     pluginContext(req.volume_context()), toStringMap(req.secrets())});
  if (!fenced.isOk()) return fenced.status();
  if (plan->action != attach::PublishPlan::Action::kAlreadyAttached) {
    if (auto s = driver_.attachments->commitPublish(*plan); !s.isOk()) return s;
  }
  copyInto(*fenced, resp->mutable_publish_context());
  // The target of an open window gets the window's length, which the attacher keeps in the
  // VolumeAttachment: a replica rebuilding the migration reopens it with this length.
  if (auto window = attach::recordedWindowFor(plan->next, req.node_id()))
    (*resp->mutable_publish_context())[attach::kRecordedWindowKey] = *window;
  return Status::ok();
}

grpc::Status ControllerService::ControllerUnpublishVolume(
    grpc::ServerContext* ctx, const csi::v1::ControllerUnpublishVolumeRequest* req,
    csi::v1::ControllerUnpublishVolumeResponse*) {
  Operation op(driver_, "ControllerUnpublishVolume", ctx);
  return op.finish(unpublish(op, *req));
}

Status ControllerService::unpublish(Operation& op,
                                    const csi::v1::ControllerUnpublishVolumeRequest& req) {
  op.setSubject(req.volume_id() + " -x " + req.node_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) {
    // Only an id that cannot be polycsi's has no fence to close. A backend missing from the
    // configuration may still admit the node: answering OK would leave the export open.
    if (routed.status().code() != Code::kNotFound) return routed.status();
    spdlog::info("ControllerUnpublishVolume {}: {}; nothing to unpublish", req.volume_id(),
                 routed.status().message());
    return Status::ok();
  }
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  if (auto s = requireKnownAttachments("ControllerUnpublishVolume"); !s.isOk()) return s;
  if (auto s = requireAttachmentAuthority("ControllerUnpublishVolume"); !s.isOk()) return s;
  auto lock = driver_.controllerLocks.tryLock(req.volume_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on volume " + req.volume_id() + " is pending");

  // An empty node_id means every node (CSI).
  std::vector<std::string> nodes;
  if (req.node_id().empty())
    nodes = driver_.attachments->state(req.volume_id()).nodes;
  else
    nodes.push_back(req.node_id());

  for (const auto& nodeId : nodes) {
    auto plan = driver_.attachments->planUnpublish(req.volume_id(), nodeId);
    if (!plan.isOk()) return plan.status();
    auto unfenced =
        closeStorageFence(b, op.call(), routed->localId, nodeId, toStringMap(req.secrets()));
    if (!unfenced.isOk()) return unfenced;
    if (plan->action != attach::UnpublishPlan::Action::kNotAttached) {
      if (auto s = driver_.attachments->commitUnpublish(*plan); !s.isOk()) return s;
    }
  }
  return Status::ok();
}

}  // namespace polycsi::server
