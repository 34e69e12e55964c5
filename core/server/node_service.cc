#include "server/node_service.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>

#include "config/node_profile.hpp"
#include "server/access_semantics.hpp"
#include "server/advertised_capabilities.hpp"
#include "server/csi_validation.hpp"
#include "server/proto_maps.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

using csi::v1::NodeServiceCapability;

constexpr char kDefaultFsType[] = "ext4";
// How long NodeGetVolumeStats waits for stat() and statvfs() of volume_path, together, before it
// reports the volume abnormal (kubelet asks again at its next sync; a call in flight is not
// repeated).
constexpr std::chrono::milliseconds kVolumePathAnswerTimeout{5000};

bool isReaderOnly(AccessMode mode) {
  return mode == AccessMode::kSingleNodeReaderOnly || mode == AccessMode::kMultiNodeReaderOnly;
}

std::vector<std::string> mountFlagsOf(const csi::v1::VolumeCapability& cap) {
  if (!cap.has_mount()) return {};
  return {cap.mount().mount_flags().begin(), cap.mount().mount_flags().end()};
}

Status aborted(const std::string& volumeId) {
  return Status(Code::kAborted, "an operation on volume " + volumeId + " is pending");
}

// Where the passphrase of an encrypted volume comes from, for messages (never its value).
std::string passphraseSource(const char* secret) {
  return std::string(secret) + " secret key '" + kEncryptionPassphraseKey + "' (StorageClass " +
         "csi.storage.k8s.io/" + secret + "-secret-name)";
}

// The request's secrets for the plugin: without the passphrase, which is the core's alone.
StringMap pluginSecrets(const google::protobuf::Map<std::string, std::string>& secrets) {
  StringMap out = toStringMap(secrets);
  out.erase(kEncryptionPassphraseKey);
  return out;
}

// The passphrase in a request's secrets; empty when the key is absent.
std::string_view passphraseIn(const google::protobuf::Map<std::string, std::string>& secrets) {
  auto it = secrets.find(kEncryptionPassphraseKey);
  return it == secrets.end() ? std::string_view() : std::string_view(it->second);
}

}  // namespace

// Routes `volumeId` to its backend and takes the volume's node lock: INVALID_ARGUMENT without
// an id, NOT_FOUND for an id that is not this driver's, ABORTED while another call holds it.
StatusOr<RoutedId> NodeService::routeAndLock(Operation& op, const std::string& volumeId,
                                             std::optional<volume::VolumeLocks::Guard>& lock) {
  if (auto s = requireField(volumeId, "volume_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, volumeId);
  if (!routed.isOk()) return routed.status();
  op.setBackend(routed->backend->name());
  auto held = driver_.nodeLocks.tryLock(volumeId);
  if (!held) return aborted(volumeId);
  lock.emplace(std::move(*held));
  return routed;
}

// FAILED_PRECONDITION when this node does not reach `backend`'s storage system (only known
// with node.topology_from_node_labels: a node's own configuration lists only what it reaches).
Status NodeService::checkReaches(const plugin_host::ConfiguredBackend& backend) const {
  const config::BackendConfig* configured = driver_.config.find(backend.name());
  if (configured == nullptr) return Status::ok();  // every running backend is configured
  return config::checkNodeReaches(driver_.nodeProfile, *configured, driver_.nodeName);
}

// ---- NodeStageVolume ----

grpc::Status NodeService::NodeStageVolume(grpc::ServerContext* ctx,
                                          const csi::v1::NodeStageVolumeRequest* req,
                                          csi::v1::NodeStageVolumeResponse*) {
  Operation op(driver_, "NodeStageVolume", ctx);
  return op.finish(stage(op, *req));
}

Status NodeService::stage(Operation& op, const csi::v1::NodeStageVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = checkPath(req.staging_target_path(), "staging_target_path"); !s.isOk()) return s;
  if (!req.has_volume_capability())
    return Status(Code::kInvalidArgument, "volume_capability is required");
  auto modes = checkCapability(req.volume_capability(), "volume_capability");
  if (!modes.isOk()) return modes.status();
  std::optional<volume::VolumeLocks::Guard> lock;
  auto routed = routeAndLock(op, req.volume_id(), lock);
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  // Before anything is attached: a node outside the backend's segment cannot reach it.
  if (auto s = checkReaches(b); !s.isOk()) return s;
  if (effectiveSemantics(b.descriptor(), modes->access, modes->volume) ==
      AttachSemantics::kUnsupported)
    return Status(Code::kInvalidArgument,
                  "volume_capability: " +
                      effectiveUnsupportedReason(b.descriptor(), modes->access, modes->volume));

  // An encrypted volume without its passphrase is refused before anything is attached.
  auto encrypted = encryptionRequested(req.volume_context(), kContextEncrypted,
                                       std::string("volume_context.") + kContextEncrypted);
  if (!encrypted.isOk()) return encrypted.status();
  const node::LuksPassphrase passphrase{passphraseIn(req.secrets()),
                                        passphraseSource("node-stage")};
  std::string mappingName;
  if (*encrypted) {
    if (passphrase.value.empty())
      return Status(Code::kInvalidArgument,
                    "volume " + req.volume_id() + " is encrypted but the request has no " +
                        passphrase.source +
                        ": point the StorageClass's node-stage secret at a Secret with that key");
    auto name = node::LuksDevices::mappingNameFor(req.volume_id());
    if (!name.isOk()) return name.status();
    mappingName = *name;
  }

  bool block = modes->volume == VolumeMode::kBlock;
  bool readonly = isReaderOnly(modes->access);
  auto attached = b.instance().attach(
      AttachRequest{op.call(), routed->localId, modes->volume, readonly,
                    pluginContext(req.volume_context()), pluginContext(req.publish_context()),
                    pluginSecrets(req.secrets()), req.staging_target_path()});
  if (!attached.isOk()) return attached.status();

  NodeVolumeRecord record{req.volume_id(),           b.name(), block, *attached,
                          req.staging_target_path(), ""};
  Status mounted = Status::ok();
  if (block && attached->kind != Attachment::Kind::kBlockDevice) {
    mounted = Status(Code::kInvalidArgument, "backend '" + b.name() +
                                                 "' attached a mount source; it cannot serve a "
                                                 "raw block volume");
  } else if (*encrypted && attached->kind != Attachment::Kind::kBlockDevice) {
    mounted = Status(Code::kFailedPrecondition,
                     "volume " + req.volume_id() + " is encrypted, but backend '" + b.name() +
                         "' attached a mount source, not a block device to encrypt");
  } else if (*encrypted) {
    // Opens the LUKS header, or formats a blank device; refuses a device holding anything else.
    auto opened = driver_.luks->open(req.volume_id(), attached->devicePath, mappingName, passphrase,
                                     readonly);
    if (opened.isOk()) record.luksMapping = mappingName;
    mounted = opened.status();
  }
  if (mounted.isOk() && !block) {
    if (attached->kind == Attachment::Kind::kBlockDevice) {
      record.fsType = req.volume_capability().mount().fs_type().empty()
                          ? kDefaultFsType
                          : req.volume_capability().mount().fs_type();
      mounted = driver_.mounter->formatAndMount(record.dataDevicePath(), req.staging_target_path(),
                                                record.fsType,
                                                mountFlagsOf(req.volume_capability()), readonly);
    } else {
      auto options = attached->mountOptions;
      for (const auto& flag : mountFlagsOf(req.volume_capability())) options.push_back(flag);
      record.fsType = attached->fsType;
      mounted = driver_.mounter->mount(attached->mountSource, req.staging_target_path(),
                                       attached->fsType, options, readonly);
    }
  }
  if (!mounted.isOk()) {
    // Leave nothing half-staged: the CO may never call NodeUnstage for a failed stage.
    if (!record.luksMapping.empty()) {
      if (auto closed = driver_.luks->close(record.luksMapping); !closed.isOk())
        spdlog::warn(
            "NodeStageVolume {}: closing the encryption mapping after a failed mount "
            "failed too: {}",
            req.volume_id(), closed.toString());
    }
    auto detached =
        b.instance().detach(DetachRequest{op.call(), routed->localId, req.staging_target_path()});
    if (!detached.isOk())
      spdlog::warn("NodeStageVolume {}: detach after failed mount failed too: {}", req.volume_id(),
                   detached.toString());
    return mounted;
  }
  // A repeated stage keeps the publications of the volume's earlier stage.
  auto earlier = driver_.nodeRecords->load(req.volume_id());
  if (!earlier.isOk()) return earlier.status();
  if (earlier->has_value()) record.publications = (*earlier)->publications;
  return driver_.nodeRecords->save(record);
}

// ---- NodeUnstageVolume ----

grpc::Status NodeService::NodeUnstageVolume(grpc::ServerContext* ctx,
                                            const csi::v1::NodeUnstageVolumeRequest* req,
                                            csi::v1::NodeUnstageVolumeResponse*) {
  Operation op(driver_, "NodeUnstageVolume", ctx);
  return op.finish(unstage(op, *req));
}

Status NodeService::unstage(Operation& op, const csi::v1::NodeUnstageVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = checkPath(req.staging_target_path(), "staging_target_path"); !s.isOk()) return s;
  std::optional<volume::VolumeLocks::Guard> lock;
  auto routed = routeAndLock(op, req.volume_id(), lock);
  if (!routed.isOk()) return routed.status();

  auto record = driver_.nodeRecords->load(req.volume_id());
  if (!record.isOk()) return record.status();
  bool block = record->has_value() && (*record)->block;
  if (!block) {
    if (auto s = driver_.mounter->unmount(req.staging_target_path(), false); !s.isOk()) return s;
  }
  // The mapping goes before the device under it. Without a record (a stage that ended before
  // saving it), a mapping with the volume's name may still be open.
  std::string mapping = record->has_value() ? (*record)->luksMapping : "";
  if (!record->has_value()) {
    auto name = node::LuksDevices::mappingNameFor(req.volume_id());
    struct stat st {};
    if (name.isOk() && ::lstat(node::LuksDevices::mappingPath(*name).c_str(), &st) == 0)
      mapping = *name;
  }
  if (!mapping.empty()) {
    if (auto s = driver_.luks->close(mapping); !s.isOk()) return s;
  }
  auto detached = routed->backend->instance().detach(
      DetachRequest{op.call(), routed->localId, req.staging_target_path()});
  if (!detached.isOk()) return detached;
  return driver_.nodeRecords->remove(req.volume_id());
}

// ---- NodePublishVolume ----

grpc::Status NodeService::NodePublishVolume(grpc::ServerContext* ctx,
                                            const csi::v1::NodePublishVolumeRequest* req,
                                            csi::v1::NodePublishVolumeResponse*) {
  Operation op(driver_, "NodePublishVolume", ctx);
  return op.finish(publish(op, *req));
}

Status NodeService::publish(Operation& op, const csi::v1::NodePublishVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = checkPath(req.target_path(), "target_path"); !s.isOk()) return s;
  if (auto s = checkPath(req.staging_target_path(), "staging_target_path"); !s.isOk()) return s;
  if (!req.has_volume_capability())
    return Status(Code::kInvalidArgument, "volume_capability is required");
  auto modes = checkCapability(req.volume_capability(), "volume_capability");
  if (!modes.isOk()) return modes.status();
  std::optional<volume::VolumeLocks::Guard> lock;
  auto routed = routeAndLock(op, req.volume_id(), lock);
  if (!routed.isOk()) return routed.status();
  if (auto s = checkReaches(*routed->backend); !s.isOk()) return s;

  auto record = driver_.nodeRecords->load(req.volume_id());
  if (!record.isOk()) return record.status();
  if (!record->has_value())
    return Status(Code::kFailedPrecondition,
                  "volume " + req.volume_id() + " is not staged on this node");
  const NodeVolumeRecord& r = **record;
  bool block = modes->volume == VolumeMode::kBlock;
  if (block != r.block)
    return Status(Code::kInvalidArgument,
                  std::string("volume ") + req.volume_id() + " was staged as " +
                      (r.block ? "block" : "filesystem") + " but is published as " +
                      (block ? "block" : "filesystem"));
  bool readonly = req.readonly() || isReaderOnly(modes->access);
  const std::string source = block ? r.dataDevicePath() : req.staging_target_path();

  NodeVolumeRecord updated = r;
  auto live = livePublications(r);
  if (!live.isOk()) return live.status();
  NodePublication wanted = publicationOf(req, modes->access);
  if (auto s = checkSecondPublish(req.volume_id(), *live, wanted); !s.isOk()) return s;
  updated.publications = *live;
  bool repeat = false;
  for (const NodePublication& p : *live) repeat = repeat || p.targetPath == wanted.targetPath;
  if (!repeat) updated.publications.push_back(wanted);

  if (auto s = driver_.mounter->bindMount(source, req.target_path(), readonly); !s.isOk()) return s;
  if (auto saved = driver_.nodeRecords->save(updated); !saved.isOk()) {
    // Unrecorded, the publication would escape the rules above after a restart.
    if (!repeat) {
      auto undone = driver_.mounter->unmount(req.target_path(), true);
      if (!undone.isOk())
        spdlog::warn("NodePublishVolume {}: unmount after a failed record failed too: {}",
                     req.volume_id(), undone.toString());
    }
    return saved;
  }
  return Status::ok();
}

// The record's publications whose targets are still mounted: a target unmounted behind the
// driver's back (a node reboot, an operator) no longer holds the volume.
StatusOr<std::vector<NodePublication>> NodeService::livePublications(
    const NodeVolumeRecord& record) const {
  std::vector<NodePublication> live;
  for (const NodePublication& p : record.publications) {
    auto mounted = driver_.mounter->findMount(p.targetPath);
    if (!mounted.isOk()) return mounted.status();
    if (mounted->has_value()) live.push_back(p);
  }
  return live;
}

// ---- NodeUnpublishVolume ----

grpc::Status NodeService::NodeUnpublishVolume(grpc::ServerContext* ctx,
                                              const csi::v1::NodeUnpublishVolumeRequest* req,
                                              csi::v1::NodeUnpublishVolumeResponse*) {
  Operation op(driver_, "NodeUnpublishVolume", ctx);
  return op.finish(unpublish(op, *req));
}

Status NodeService::unpublish(Operation& op, const csi::v1::NodeUnpublishVolumeRequest& req) {
  op.setSubject(req.volume_id());
  if (auto s = checkPath(req.target_path(), "target_path"); !s.isOk()) return s;
  std::optional<volume::VolumeLocks::Guard> lock;
  auto routed = routeAndLock(op, req.volume_id(), lock);
  if (!routed.isOk()) return routed.status();
  if (auto s = driver_.mounter->unmount(req.target_path(), true); !s.isOk()) return s;
  auto record = driver_.nodeRecords->load(req.volume_id());
  if (!record.isOk()) return record.status();
  if (!record->has_value()) return Status::ok();
  NodeVolumeRecord updated = **record;
  std::erase_if(updated.publications,
                [&](const NodePublication& p) { return p.targetPath == req.target_path(); });
  if (updated.publications.size() == (*record)->publications.size()) return Status::ok();
  return driver_.nodeRecords->save(updated);
}

// ---- NodeGetVolumeStats ----

grpc::Status NodeService::NodeGetVolumeStats(grpc::ServerContext* ctx,
                                             const csi::v1::NodeGetVolumeStatsRequest* req,
                                             csi::v1::NodeGetVolumeStatsResponse* resp) {
  Operation op(driver_, "NodeGetVolumeStats", ctx);
  return op.finish(stats(op, *req, resp));
}

Status NodeService::stats(Operation& op, const csi::v1::NodeGetVolumeStatsRequest& req,
                          csi::v1::NodeGetVolumeStatsResponse* resp) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_id(), "volume_id"); !s.isOk()) return s;
  if (auto s = requireField(req.volume_path(), "volume_path"); !s.isOk()) return s;
  // Whether the volume exists here comes before the form of the path (CSI: an unknown volume
  // is NOT_FOUND, whatever path was asked about).
  auto routed = routeId(driver_, req.volume_id());
  if (!routed.isOk()) return routed.status();
  op.setBackend(routed->backend->name());
  auto record = driver_.nodeRecords->load(req.volume_id());
  if (!record.isOk()) return record.status();
  if (!record->has_value())
    return Status(Code::kNotFound, "volume " + req.volume_id() + " is not staged on this node");
  // CSI: NOT_FOUND when the volume "does not exist on the specified volume_path"; a relative
  // path is never where a volume was staged or published (csi-sanity asks with "some/path").
  if (req.volume_path().front() != '/')
    return Status(Code::kNotFound, "volume " + req.volume_id() + " is not at volume_path '" +
                                       req.volume_path() +
                                       "': it must be the absolute path where the volume is "
                                       "staged or published");
  if (auto s = checkPath(req.volume_path(), "volume_path"); !s.isOk()) return s;
  // A hung NFS server blocks stat() and statvfs() for ever and a server that lost the export
  // answers ESTALE: neither may hang the call or read as "no such volume"; both are the
  // volume's condition (docs/volume-health.md). Every filesystem query here is bounded.
  const auto bound =
      std::min<std::chrono::milliseconds>(kVolumePathAnswerTimeout, op.call().remaining() / 2);
  const bool block = (*record)->block;
  const node::VolumePathCheck::Outcome looked = pathCheck_.check(req.volume_path(), !block, bound);
  if (looked.kind == node::VolumePathCheck::Outcome::Kind::kMissing)
    return Status(Code::kNotFound, looked.message);
  if (looked.kind == node::VolumePathCheck::Outcome::Kind::kAbnormal) {
    auto* c = resp->mutable_volume_condition();
    c->set_abnormal(true);
    c->set_message(looked.message);
    spdlog::warn("NodeGetVolumeStats {}: {}", req.volume_id(), c->message());
    return Status::ok();
  }
  auto* bytes = resp->add_usage();
  bytes->set_unit(csi::v1::VolumeUsage::BYTES);
  if (block) {
    // The size of the device node (an ioctl on devtmpfs, not a filesystem query).
    auto size = driver_.mounter->blockDeviceSize((*record)->dataDevicePath());
    if (!size.isOk()) return size.status();
    bytes->set_total(*size);
  } else {
    const node::VolumeUsage& usage = *looked.usage;
    bytes->set_total(usage.totalBytes);
    bytes->set_available(usage.availableBytes);
    bytes->set_used(usage.usedBytes);
    auto* inodes = resp->add_usage();
    inodes->set_unit(csi::v1::VolumeUsage::INODES);
    inodes->set_total(usage.totalInodes);
    inodes->set_available(usage.freeInodes);
    inodes->set_used(usage.usedInodes);
  }
  auto condition = routed->backend->instance().volumeCondition(
      DetachRequest{op.call(), routed->localId, (*record)->stagingPath});
  auto* c = resp->mutable_volume_condition();
  if (!condition.isOk()) {
    c->set_abnormal(true);
    c->set_message("health check failed: " + condition.status().message());
  } else {
    c->set_abnormal(condition->abnormal);
    // A plugin without a health check cannot say more than the core saw: the path answers.
    c->set_message(condition->abnormal ? condition->message
                   : routed->backend->features().volumeCondition
                       ? "volume is healthy"
                       : "backend '" + routed->backend->name() +
                             "' has no health check; the volume's path answers");
  }
  return Status::ok();
}

// ---- NodeExpandVolume ----

grpc::Status NodeService::NodeExpandVolume(grpc::ServerContext* ctx,
                                           const csi::v1::NodeExpandVolumeRequest* req,
                                           csi::v1::NodeExpandVolumeResponse* resp) {
  Operation op(driver_, "NodeExpandVolume", ctx);
  return op.finish(expand(op, *req, resp));
}

Status NodeService::expand(Operation& op, const csi::v1::NodeExpandVolumeRequest& req,
                           csi::v1::NodeExpandVolumeResponse* resp) {
  op.setSubject(req.volume_id());
  if (auto s = requireField(req.volume_path(), "volume_path"); !s.isOk()) return s;
  if (req.has_capacity_range()) {
    if (auto s = checkCapacityRange(req.capacity_range()); !s.isOk()) return s;
  }
  // Whether the volume exists here comes before the form of the path (CSI: an unknown volume
  // is NOT_FOUND).
  std::optional<volume::VolumeLocks::Guard> lock;
  auto routed = routeAndLock(op, req.volume_id(), lock);
  if (!routed.isOk()) return routed.status();
  const auto features = routed->backend->features();
  if (!features.expandVolume && !features.nodeExpand)
    return backendLacks(*routed->backend, "NodeExpandVolume", "expanding volumes",
                        Code::kUnimplemented);
  auto record = driver_.nodeRecords->load(req.volume_id());
  if (!record.isOk()) return record.status();
  if (!record->has_value())
    return Status(Code::kNotFound, "volume " + req.volume_id() + " is not staged on this node");
  if (auto s = checkPath(req.volume_path(), "volume_path"); !s.isOk()) return s;
  const NodeVolumeRecord& r = **record;
  if (r.attachment.kind != Attachment::Kind::kBlockDevice) {
    // A mount source (NFS) has nothing to grow on the node.
    return Status::ok();
  }
  auto grown = routed->backend->instance().nodeExpand(NodeExpandRequest{
      op.call(), routed->localId, req.capacity_range().required_bytes(), r.attachment.devicePath});
  if (!grown.isOk()) return grown;
  if (!r.luksMapping.empty()) {
    // The mapping keeps its size until told; the filesystem sees only the mapping.
    node::LuksPassphrase passphrase{passphraseIn(req.secrets()), passphraseSource("node-expand")};
    if (auto s = driver_.luks->resize(req.volume_id(), r.luksMapping, passphrase); !s.isOk())
      return s;
  }
  const std::string device = r.dataDevicePath();
  if (!r.block) {
    if (auto s = driver_.mounter->growFilesystem(device, r.stagingPath); !s.isOk()) return s;
  }
  // What the volume's user can use: for an encrypted volume, the mapping (the LUKS2 header
  // takes the start of the device).
  auto size = driver_.mounter->blockDeviceSize(device);
  if (!size.isOk()) return size.status();
  resp->set_capacity_bytes(*size);
  return Status::ok();
}

// ---- NodeGetCapabilities / NodeGetInfo ----

grpc::Status NodeService::NodeGetCapabilities(grpc::ServerContext* ctx,
                                              const csi::v1::NodeGetCapabilitiesRequest*,
                                              csi::v1::NodeGetCapabilitiesResponse* resp) {
  Operation op(driver_, "NodeGetCapabilities", ctx);
  auto add = [&](NodeServiceCapability::RPC::Type type) {
    resp->add_capabilities()->mutable_rpc()->set_type(type);
  };
  // Staging, statistics and multi-writer are the core's own, for every plugin alike; the rest
  // follow the rule of every service (advertised_capabilities.hpp). EXPAND_VOLUME without a
  // backend that grows would let kubelet and external-resizer's trivial resizer report a
  // growth that never happened.
  const auto advertised = AdvertisedCapabilities::of(driver_.backends);
  add(NodeServiceCapability::RPC::STAGE_UNSTAGE_VOLUME);
  add(NodeServiceCapability::RPC::GET_VOLUME_STATS);
  if (advertised.volumeCondition) add(NodeServiceCapability::RPC::VOLUME_CONDITION);
  if (advertised.nodeExpand) add(NodeServiceCapability::RPC::EXPAND_VOLUME);
  add(NodeServiceCapability::RPC::SINGLE_NODE_MULTI_WRITER);
  return op.finish(Status::ok());
}

grpc::Status NodeService::NodeGetInfo(grpc::ServerContext* ctx, const csi::v1::NodeGetInfoRequest*,
                                      csi::v1::NodeGetInfoResponse* resp) {
  Operation op(driver_, "NodeGetInfo", ctx);
  return op.finish(info(op, resp));
}

Status NodeService::info(Operation& op, csi::v1::NodeGetInfoResponse* resp) {
  volume::NodeId node{driver_.nodeName, {}};
  std::set<std::string> asked;
  for (const auto* b : driver_.backends.all()) {
    // One identity per plugin: the host's NQN or IQN does not depend on the backend instance.
    if (!asked.insert(b->descriptor().name).second) continue;
    auto identity = b->instance().nodeIdentity(op.call());
    if (!identity.isOk()) {
      // The node still registers for the other backends; the controller refuses to publish a
      // volume of this plugin to it, naming the identity that is missing.
      const std::string& kind = b->descriptor().nodeIdentityKind;
      spdlog::warn(
          "NodeGetInfo: backend '{}' (plugin {}) could not report this node's {}; node {} "
          "registers without it, so volumes of this plugin cannot be published to it: {}",
          b->name(), b->descriptor().name, kind.empty() ? "identity" : kind, driver_.nodeName,
          identity.status().message());
      continue;
    }
    if (!identity->empty()) node.identities[b->descriptor().name] = *identity;
  }
  auto encoded = volume::encodeNodeId(node);
  if (!encoded.isOk()) return encoded.status();
  resp->set_node_id(*encoded);
  // The segments of the backends this node reaches, from its configuration or its labels
  // (config/node_profile.hpp), fixed at start.
  const config::NodeProfile& profile = driver_.nodeProfile;
  for (const auto& [key, value] : profile.topology)
    (*resp->mutable_accessible_topology()->mutable_segments())[key] = value;
  resp->set_max_volumes_per_node(profile.maxVolumesPerNode);
  return Status::ok();
}

}  // namespace polycsi::server
