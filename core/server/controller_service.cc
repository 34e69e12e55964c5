#include "server/controller_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/access_semantics.hpp"
#include "server/advertised_capabilities.hpp"
#include "server/backend_placement.hpp"
#include "server/controller_conditions.hpp"
#include "server/csi_validation.hpp"
#include "server/mutable_parameters.hpp"
#include "server/proto_maps.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

using csi::v1::ControllerServiceCapability;

// True for StorageClass keys the core consumes itself.
bool isCoreParameter(const std::string& key) {
  return key == kBackendParameter || key == kBackendsParameter ||
         key == kMigrationTimeoutParameter || key == kEncryptedParameter ||
         key.rfind(kProvisionerPrefix, 0) == 0;
}

// The parameters meant for the plugin; INVALID_ARGUMENT for a key it does not declare.
StatusOr<StringMap> pluginParameters(const plugin_host::ConfiguredBackend& backend,
                                     const google::protobuf::Map<std::string, std::string>& p) {
  StringMap out;
  const auto& accepted = backend.descriptor().parameters;
  for (const auto& [key, value] : p) {
    bool known = false;
    for (const auto& spec : accepted) known = known || spec.name == key;
    // The provisioner's keys (PVC/PV names) reach a plugin that declares them, e.g. for
    // naming; the core's own keys never do, and undeclared provisioner keys are dropped.
    bool provisionerKey = key.rfind(kProvisionerPrefix, 0) == 0;
    if (isCoreParameter(key) && !(provisionerKey && known)) continue;
    if (!known) {
      std::string names;
      for (const auto& spec : accepted) names += (names.empty() ? "" : ", ") + spec.name;
      return Status(Code::kInvalidArgument,
                    "parameters." + key + ": not understood by backend '" + backend.name() +
                        "' (plugin " + backend.descriptor().name +
                        "; accepted: " + (names.empty() ? "none" : names) + ", plus backend, " +
                        kMigrationTimeoutParameter + " and " + kEncryptedParameter + ")");
    }
    out[key] = value;
  }
  for (const auto& spec : accepted)
    if (spec.required && out.find(spec.name) == out.end())
      return Status(Code::kInvalidArgument,
                    "parameters." + spec.name + ": required by backend '" + backend.name() + "'");
  return out;
}

// Checks every capability against the backend's matrix; returns the volume mode they share.
StatusOr<VolumeMode> checkCapabilities(
    const plugin_host::ConfiguredBackend& backend,
    const google::protobuf::RepeatedPtrField<csi::v1::VolumeCapability>& caps) {
  if (caps.empty()) return Status(Code::kInvalidArgument, "volume_capabilities is required");
  std::optional<VolumeMode> mode;
  for (int i = 0; i < caps.size(); ++i) {
    std::string field = "volume_capabilities[" + std::to_string(i) + "]";
    auto modes = checkCapability(caps[i], field.c_str());
    if (!modes.isOk()) return modes.status();
    const auto& d = backend.descriptor();
    if (effectiveSemantics(d, modes->access, modes->volume) == AttachSemantics::kUnsupported)
      return Status(Code::kInvalidArgument,
                    field + ": backend '" + backend.name() + "' cannot provide " +
                        accessModeName(modes->access) + " with volume mode " +
                        volumeModeName(modes->volume) + ": " +
                        effectiveUnsupportedReason(d, modes->access, modes->volume));
    if (mode && *mode != modes->volume)
      return Status(Code::kInvalidArgument, "volume_capabilities mix block and mount access types");
    mode = modes->volume;
  }
  return *mode;
}

// Encryption needs a block device on the node: a backend whose matrix has no block volume
// mode attaches mount sources only (nfs). INVALID_ARGUMENT naming the parameter.
Status checkEncryptable(const plugin_host::ConfiguredBackend& backend) {
  for (const auto& c : backend.descriptor().capabilities)
    if (c.volumeMode == VolumeMode::kBlock && c.semantics != AttachSemantics::kUnsupported)
      return Status::ok();
  return Status(Code::kInvalidArgument,
                std::string("parameters.") + kEncryptedParameter + ": backend '" + backend.name() +
                    "' (plugin " + backend.descriptor().name +
                    ") attaches no block device on the node, and LUKS encryption needs one; "
                    "remove the parameter or choose a block backend");
}

}  // namespace

Status ControllerService::requireKnownAttachments(const std::string& what) const {
  if (driver_.attachmentsKnown.load()) return Status::ok();
  return Status(Code::kUnavailable,
                what +
                    " must wait: the controller is rebuilding its attachments from the "
                    "cluster's VolumeAttachments after a start; retry shortly");
}

Status ControllerService::requireAttachmentAuthority(const std::string& what) const {
  if (driver_.leadership == nullptr) return Status::ok();
  return driver_.leadership->mayChangeAttachments(what);
}

grpc::Status ControllerService::CreateVolume(grpc::ServerContext* ctx,
                                             const csi::v1::CreateVolumeRequest* req,
                                             csi::v1::CreateVolumeResponse* resp) {
  Operation op(driver_, "CreateVolume", ctx);
  return op.finish(createVolume(op, *req, resp));
}

Status ControllerService::createVolume(Operation& op, const csi::v1::CreateVolumeRequest& req,
                                       csi::v1::CreateVolumeResponse* resp) {
  op.setSubject(req.name());
  if (auto s = requireField(req.name(), "name"); !s.isOk()) return s;
  auto classBackends = routeClassBackends(driver_, req.parameters());
  if (!classBackends.isOk()) return classBackends.status();
  const std::vector<const plugin_host::ConfiguredBackend*>& candidates = *classBackends;
  // Every backend of a class shares one plugin (routeClassBackends), so the checks of the
  // request hold for whichever backend the volume lands on.
  const plugin_host::ConfiguredBackend& first = *candidates.front();
  if (candidates.size() == 1) op.setBackend(first.name());
  auto mode = checkCapabilities(first, req.volume_capabilities());
  if (!mode.isOk()) return mode.status();
  if (auto s = checkCapacityRange(req.capacity_range()); !s.isOk()) return s;
  auto timeout = migrationTimeoutSeconds(req.parameters());
  if (!timeout.isOk()) return timeout.status();
  auto encrypted = encryptionRequested(req.parameters(), kEncryptedParameter,
                                       std::string("parameters.") + kEncryptedParameter);
  if (!encrypted.isOk()) return encrypted.status();
  if (*encrypted) {
    if (auto s = checkEncryptable(first); !s.isOk()) return s;
  }
  auto params = pluginParameters(first, req.parameters());
  if (!params.isOk()) return params.status();
  // CSI: the plugin applies mutable_parameters (a VolumeAttributesClass's) at creation. Only
  // mutable ones are accepted, as ControllerModifyVolume would; they win over the
  // StorageClass's parameters of the same name.
  auto mutableParams =
      checkMutableParameters(first, req.mutable_parameters(), "mutable_parameters");
  if (!mutableParams.isOk()) return mutableParams.status();
  for (const auto& [key, value] : mutableParams->plugin) (*params)[key] = value;
  if (mutableParams->migrationTimeoutSeconds) *timeout = *mutableParams->migrationTimeoutSeconds;

  auto lock = driver_.controllerLocks.tryLock("name/" + req.name());
  if (!lock) return Status(Code::kAborted, "an operation on volume " + req.name() + " is pending");

  const csi::v1::TopologyRequirement* requirement =
      req.has_accessibility_requirements() ? &req.accessibility_requirements() : nullptr;
  auto placed = placeVolume(op, req, candidates, *params, requirement);
  if (!placed.isOk()) return placed.status();
  const plugin_host::ConfiguredBackend& b = **placed;
  op.setBackend(b.name());

  CreateVolumeRequest create{op.call(),
                             req.name(),
                             req.capacity_range().required_bytes(),
                             req.capacity_range().limit_bytes(),
                             *mode,
                             *params,
                             toStringMap(req.secrets()),
                             ""};
  StatusOr<Volume> created = Status(Code::kInternal, "no volume");
  if (req.has_volume_content_source()) {
    const auto& source = req.volume_content_source();
    bool fromSnapshot = source.has_snapshot();
    const std::string& sourceId =
        fromSnapshot ? source.snapshot().snapshot_id() : source.volume().volume_id();
    auto routed = routeId(driver_, sourceId);
    if (!routed.isOk()) return routed.status();
    // CSI CreateVolume: a source the plugin cannot create from is INVALID_ARGUMENT.
    if (fromSnapshot ? !b.features().restoreSnapshot : !b.features().cloneVolume)
      return backendLacks(b, "CreateVolume",
                          fromSnapshot ? "creating a volume from a snapshot" : "cloning a volume",
                          Code::kInvalidArgument);
    create.sourceId = routed->localId;
    created = fromSnapshot ? b.instance().createVolumeFromSnapshot(create)
                           : b.instance().cloneVolume(create);
    *resp->mutable_volume()->mutable_content_source() = source;
  } else {
    created = b.instance().createVolume(create);
  }
  if (!created.isOk()) return created.status();

  auto id = csiIdOf(b, created->id);
  if (!id.isOk()) return id.status();
  if (created->capacityBytes < req.capacity_range().required_bytes())
    return Status(Code::kInternal, "backend '" + b.name() + "' created " + *id + " with " +
                                       std::to_string(created->capacityBytes) +
                                       " bytes, less than required");
  auto* v = resp->mutable_volume();
  v->set_volume_id(*id);
  v->set_capacity_bytes(created->capacityBytes);
  // CSI: without accessible_topology a volume is accessible from every node, which is what a
  // backend without `topology:` means.
  if (!b.topology().empty())
    for (const auto& [key, value] : b.topology())
      (*v->add_accessible_topology()->mutable_segments())[key] = value;
  for (const auto& [k, val] : created->context)
    if (k.rfind(kContextPrefix, 0) != 0) (*v->mutable_volume_context())[k] = val;
  auto& context = *v->mutable_volume_context();
  context[kContextMigrationTimeout] = std::to_string(*timeout);
  // NodeStageVolume learns from here that the volume is to be opened (or formatted) as LUKS2.
  if (*encrypted) context[kContextEncrypted] = "true";
  if (auto it = req.parameters().find(kPvcNameParameter); it != req.parameters().end())
    context[kContextPvcName] = it->second;
  if (auto it = req.parameters().find(kPvcNamespaceParameter); it != req.parameters().end())
    context[kContextPvcNamespace] = it->second;
  if (auto it = req.parameters().find(kPvNameParameter); it != req.parameters().end())
    context[kContextPvName] = it->second;
  op.setSubject(*id);
  return Status::ok();
}

StatusOr<const plugin_host::ConfiguredBackend*> ControllerService::placeVolume(
    Operation& op, const csi::v1::CreateVolumeRequest& req,
    const std::vector<const plugin_host::ConfiguredBackend*>& candidates, const StringMap& params,
    const csi::v1::TopologyRequirement* requirement) {
  // A clone or a restore stays on its source's backend, which must be one of the class's.
  if (req.has_volume_content_source()) {
    const auto& source = req.volume_content_source();
    if (!source.has_snapshot() && !source.has_volume())
      return Status(Code::kInvalidArgument, "volume_content_source has no snapshot or volume");
    const std::string& sourceId =
        source.has_snapshot() ? source.snapshot().snapshot_id() : source.volume().volume_id();
    auto routed = routeId(driver_, sourceId);
    if (!routed.isOk()) return routed.status();
    if (std::find(candidates.begin(), candidates.end(), routed->backend) == candidates.end()) {
      std::string names;
      for (const auto* c : candidates) names += (names.empty() ? "" : "', '") + c->name();
      return Status(Code::kInvalidArgument, "volume_content_source " + sourceId +
                                                " belongs to backend '" + routed->backend->name() +
                                                "', not '" + names + "'");
    }
    return chooseBackend({routed->backend}, requirement, req.capacity_range().required_bytes(),
                         nullptr);
  }
  if (candidates.size() == 1)
    return chooseBackend(candidates, requirement, req.capacity_range().required_bytes(), nullptr);

  // A retry of a CreateVolume that already succeeded somewhere must land there, whatever the
  // capacities say now (the first attempt used some of it): ask every backend of the class
  // first. A backend that cannot answer stops the call (the CO retries) rather than risk a
  // second volume of the same name on another backend.
  const plugin_host::ConfiguredBackend* existing = nullptr;
  for (const auto* b : candidates) {
    if (!b->features().findVolume)
      return Status(Code::kInvalidArgument,
                    std::string("parameters.") + kBackendsParameter + ": backend '" + b->name() +
                        "' (plugin " + b->descriptor().name +
                        ") cannot look a volume up by name, which a StorageClass spanning "
                        "several backends needs so that a retried CreateVolume finds the "
                        "first attempt's volume; name one backend with parameters.backend");
    auto found = b->instance().findVolume(
        FindVolumeRequest{op.call(), req.name(), params, toStringMap(req.secrets())});
    if (found.isOk()) {
      if (existing != nullptr)
        return Status(Code::kFailedPrecondition,
                      "volume " + req.name() + " exists on two backends of this StorageClass, '" +
                          existing->name() + "' and '" + b->name() +
                          "'; delete the one no PersistentVolume uses");
      existing = b;
    } else if (found.status().code() != Code::kNotFound) {
      return Status(found.status().code(), "CreateVolume " + req.name() +
                                               ": cannot tell whether backend '" + b->name() +
                                               "' already holds it: " + found.status().message());
    }
  }
  if (existing != nullptr) return existing;
  return chooseBackend(candidates, requirement, req.capacity_range().required_bytes(),
                       [&](const plugin_host::ConfiguredBackend& b) -> StatusOr<int64_t> {
                         auto c = b.instance().getCapacity(CapacityRequest{op.call(), params});
                         if (!c.isOk()) return c.status();
                         return c->availableBytes;
                       });
}

grpc::Status ControllerService::DeleteVolume(grpc::ServerContext* ctx,
                                             const csi::v1::DeleteVolumeRequest* req,
                                             csi::v1::DeleteVolumeResponse*) {
  Operation op(driver_, "DeleteVolume", ctx);
  return op.finish(deleteVolume(op, *req));
}

Status ControllerService::deleteVolume(Operation& op, const csi::v1::DeleteVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) {
    // CSI: a volume that does not exist is deleted already. Only an id that cannot be polycsi's
    // is known not to exist; one naming an unconfigured backend may still hold data.
    if (routed.status().code() != Code::kNotFound) return routed.status();
    spdlog::info("DeleteVolume {}: {}; nothing to delete", req.volume_id(),
                 routed.status().message());
    return Status::ok();
  }
  op.setBackend(routed->backend->name());
  // Deleting checks the volume is detached: that needs every attachment known.
  if (auto s = requireKnownAttachments("DeleteVolume"); !s.isOk()) return s;
  // external-provisioner's lease may be held by this replica while the other one's attacher
  // decides attachments: a standby looks at the cluster before it judges "still attached".
  if (driver_.leadership != nullptr) {
    if (auto s = driver_.leadership->refreshIfStandby("DeleteVolume"); !s.isOk()) return s;
  }
  auto lock = driver_.controllerLocks.tryLock(req.volume_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on volume " + req.volume_id() + " is pending");
  if (driver_.attachments != nullptr) {
    auto state = driver_.attachments->state(req.volume_id());
    if (!state.nodes.empty()) {
      std::string nodes;
      for (const auto& n : state.nodes) nodes += (nodes.empty() ? "" : ", ") + n;
      return Status(Code::kFailedPrecondition, "Volume " + req.volume_id() +
                                                   " is still attached to nodes [" + nodes +
                                                   "]; unpublish it first");
    }
  }
  return routed->backend->instance().deleteVolume(
      VolumeIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
}

grpc::Status ControllerService::ValidateVolumeCapabilities(
    grpc::ServerContext* ctx, const csi::v1::ValidateVolumeCapabilitiesRequest* req,
    csi::v1::ValidateVolumeCapabilitiesResponse* resp) {
  Operation op(driver_, "ValidateVolumeCapabilities", ctx);
  return op.finish(validateCapabilities(op, *req, resp));
}

Status ControllerService::validateCapabilities(
    Operation& op, const csi::v1::ValidateVolumeCapabilitiesRequest& req,
    csi::v1::ValidateVolumeCapabilitiesResponse* resp) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  if (req.volume_capabilities().empty())
    return Status(Code::kInvalidArgument, "volume_capabilities is required");
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  op.setBackend(routed->backend->name());
  auto existing = routed->backend->instance().getVolume(
      VolumeIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
  if (!existing.isOk()) return existing.status();
  auto mode = checkCapabilities(*routed->backend, req.volume_capabilities());
  if (!mode.isOk()) {
    if (mode.status().code() != Code::kInvalidArgument) return mode.status();
    resp->set_message(mode.status().message());
    return Status::ok();
  }
  auto* confirmed = resp->mutable_confirmed();
  *confirmed->mutable_volume_context() = req.volume_context();
  *confirmed->mutable_volume_capabilities() = req.volume_capabilities();
  *confirmed->mutable_parameters() = req.parameters();
  *confirmed->mutable_mutable_parameters() = req.mutable_parameters();
  return Status::ok();
}

grpc::Status ControllerService::ControllerGetCapabilities(
    grpc::ServerContext* ctx, const csi::v1::ControllerGetCapabilitiesRequest*,
    csi::v1::ControllerGetCapabilitiesResponse* resp) {
  Operation op(driver_, "ControllerGetCapabilities", ctx);
  // One rule for every service (server/advertised_capabilities.hpp): what at least one backend
  // has, except listing; a call that reaches a backend without it names that backend.
  const auto advertised = AdvertisedCapabilities::of(driver_.backends);
  auto add = [&](ControllerServiceCapability::RPC::Type type) {
    resp->add_capabilities()->mutable_rpc()->set_type(type);
  };
  add(ControllerServiceCapability::RPC::CREATE_DELETE_VOLUME);
  add(ControllerServiceCapability::RPC::PUBLISH_UNPUBLISH_VOLUME);
  add(ControllerServiceCapability::RPC::PUBLISH_READONLY);
  add(ControllerServiceCapability::RPC::GET_VOLUME);
  add(ControllerServiceCapability::RPC::SINGLE_NODE_MULTI_WRITER);
  if (advertised.listVolumes) {
    add(ControllerServiceCapability::RPC::LIST_VOLUMES);
    add(ControllerServiceCapability::RPC::LIST_VOLUMES_PUBLISHED_NODES);
  }
  if (advertised.getCapacity) add(ControllerServiceCapability::RPC::GET_CAPACITY);
  if (advertised.snapshots) {
    add(ControllerServiceCapability::RPC::CREATE_DELETE_SNAPSHOT);
    add(ControllerServiceCapability::RPC::LIST_SNAPSHOTS);
    add(ControllerServiceCapability::RPC::GET_SNAPSHOT);
  }
  if (advertised.cloneVolume) add(ControllerServiceCapability::RPC::CLONE_VOLUME);
  if (advertised.controllerExpand) add(ControllerServiceCapability::RPC::EXPAND_VOLUME);
  if (advertised.modifyVolume) add(ControllerServiceCapability::RPC::MODIFY_VOLUME);
  if (advertised.controllerVolumeCondition) add(ControllerServiceCapability::RPC::VOLUME_CONDITION);
  return op.finish(Status::ok());
}

grpc::Status ControllerService::ControllerExpandVolume(
    grpc::ServerContext* ctx, const csi::v1::ControllerExpandVolumeRequest* req,
    csi::v1::ControllerExpandVolumeResponse* resp) {
  Operation op(driver_, "ControllerExpandVolume", ctx);
  return op.finish(expandVolume(op, *req, resp));
}

Status ControllerService::expandVolume(Operation& op,
                                       const csi::v1::ControllerExpandVolumeRequest& req,
                                       csi::v1::ControllerExpandVolumeResponse* resp) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  if (!req.has_capacity_range())
    return Status(Code::kInvalidArgument, "capacity_range is required");
  if (auto s = checkCapacityRange(req.capacity_range()); !s.isOk()) return s;
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  op.setBackend(routed->backend->name());
  // UNIMPLEMENTED, not FAILED_PRECONDITION: CSI gives FAILED_PRECONDITION the meaning "in use
  // and no ONLINE expansion", and external-resizer v1.12.0 (pkg/controller/controller.go,
  // inUseError) then waits for the pod to go instead of reporting that it can never grow.
  if (!routed->backend->features().expandVolume)
    return backendLacks(*routed->backend, "ControllerExpandVolume", "expanding volumes",
                        Code::kUnimplemented);
  auto lock = driver_.controllerLocks.tryLock(req.volume_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on volume " + req.volume_id() + " is pending");
  auto expanded = routed->backend->instance().expandVolume(
      ExpandRequest{op.call(), routed->localId, req.capacity_range().required_bytes(),
                    req.capacity_range().limit_bytes(), toStringMap(req.secrets())});
  if (!expanded.isOk()) return expanded.status();
  resp->set_capacity_bytes(expanded->capacityBytes);
  resp->set_node_expansion_required(expanded->nodeExpansionRequired);
  return Status::ok();
}

grpc::Status ControllerService::ControllerGetVolume(grpc::ServerContext* ctx,
                                                    const csi::v1::ControllerGetVolumeRequest* req,
                                                    csi::v1::ControllerGetVolumeResponse* resp) {
  Operation op(driver_, "ControllerGetVolume", ctx);
  return op.finish(getVolume(op, *req, resp));
}

Status ControllerService::getVolume(Operation& op, const csi::v1::ControllerGetVolumeRequest& req,
                                    csi::v1::ControllerGetVolumeResponse* resp) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  op.setBackend(routed->backend->name());
  if (auto s = requireKnownAttachments("ControllerGetVolume"); !s.isOk()) return s;
  auto found =
      routed->backend->instance().getVolume(VolumeIdRequest{op.call(), routed->localId, {}});
  if (!found.isOk()) return found.status();
  auto* v = resp->mutable_volume();
  v->set_volume_id(req.volume_id());
  v->set_capacity_bytes(found->capacityBytes);
  if (!routed->backend->topology().empty())
    for (const auto& [key, value] : routed->backend->topology())
      (*v->add_accessible_topology()->mutable_segments())[key] = value;
  copyInto(found->context, v->mutable_volume_context());
  auto* status = resp->mutable_status();
  std::vector<std::string> nodes;
  if (driver_.attachments != nullptr) nodes = driver_.attachments->state(req.volume_id()).nodes;
  for (const auto& node : nodes) status->add_published_node_ids(node);
  // Without the plugin's check the core cannot tell, so it says nothing (VOLUME_CONDITION is
  // then not advertised): "exists" is not "healthy".
  if (routed->backend->features().controllerVolumeCondition) {
    auto conditions = controllerConditions(
        *routed->backend, op.call(), {conditionQueryFor(*routed->backend, routed->localId, nodes)});
    status->mutable_volume_condition()->set_abnormal(conditions.front().abnormal);
    status->mutable_volume_condition()->set_message(conditions.front().message);
  }
  return Status::ok();
}

}  // namespace polycsi::server
