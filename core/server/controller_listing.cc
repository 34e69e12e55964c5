// ListVolumes, GetCapacity and the snapshot RPCs: listing spans every backend that supports it.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/access_semantics.hpp"
#include "server/advertised_capabilities.hpp"
#include "server/backend_paging.hpp"
#include "server/backend_placement.hpp"
#include "server/controller_conditions.hpp"
#include "server/controller_service.hpp"
#include "server/csi_snapshots.hpp"
#include "server/csi_validation.hpp"
#include "server/proto_maps.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

std::vector<const plugin_host::ConfiguredBackend*> backendsWith(
    const DriverContext& driver, bool (*has)(const PluginFeatures&)) {
  std::vector<const plugin_host::ConfiguredBackend*> out;
  for (const auto* b : driver.backends.all())
    if (has(b->features())) out.push_back(b);
  return out;
}

}  // namespace

grpc::Status ControllerService::ListVolumes(grpc::ServerContext* ctx,
                                            const csi::v1::ListVolumesRequest* req,
                                            csi::v1::ListVolumesResponse* resp) {
  Operation op(driver_, "ListVolumes", ctx);
  return op.finish(listVolumes(op, *req, resp));
}

Status ControllerService::listVolumes(Operation& op, const csi::v1::ListVolumesRequest& req,
                                      csi::v1::ListVolumesResponse* resp) {
  // LIST_VOLUMES is advertised only when every backend lists (advertised_capabilities.hpp).
  for (const auto* b : driver_.backends.all())
    if (!b->features().listVolumes)
      return Status(Code::kUnimplemented,
                    "ListVolumes: backend '" + b->name() + "' (plugin " + b->descriptor().name +
                        ") cannot list volumes, so LIST_VOLUMES is not advertised: a list "
                        "without its volumes would be incomplete");
  const auto backends = driver_.backends.all();
  // Published nodes from a manager that is still rebuilding would tell the attacher that
  // attached volumes are detached, and it would publish them all again.
  if (auto s = requireKnownAttachments("ListVolumes"); !s.isOk()) return s;
  std::vector<csi::v1::ListVolumesResponse::Entry> entries;
  auto next = pageAcrossBackends<csi::v1::ListVolumesResponse::Entry>(
      backends, req.starting_token(), req.max_entries(),
      [&](const plugin_host::ConfiguredBackend& b, const std::string& token,
          int32_t max) -> StatusOr<BackendPage<csi::v1::ListVolumesResponse::Entry>> {
        auto page = b.instance().listVolumes(ListRequest{op.call(), max, token, "", ""});
        if (!page.isOk()) {
          // A plugin that rejects its own token speaks for an invalid CSI token.
          return page.status();
        }
        BackendPage<csi::v1::ListVolumesResponse::Entry> out;
        out.nextToken = page->nextToken;
        std::vector<ConditionQuery> queries;
        for (const auto& v : page->volumes) {
          auto id = csiIdOf(b, v.id);
          if (!id.isOk()) return id.status();
          csi::v1::ListVolumesResponse::Entry entry;
          entry.mutable_volume()->set_volume_id(*id);
          entry.mutable_volume()->set_capacity_bytes(v.capacityBytes);
          if (!b.topology().empty())
            for (const auto& [key, value] : b.topology())
              (*entry.mutable_volume()->add_accessible_topology()->mutable_segments())[key] = value;
          copyInto(v.context, entry.mutable_volume()->mutable_volume_context());
          std::vector<std::string> nodes;
          if (driver_.attachments != nullptr) nodes = driver_.attachments->state(*id).nodes;
          for (const auto& node : nodes) entry.mutable_status()->add_published_node_ids(node);
          queries.push_back(conditionQueryFor(b, v.id, nodes));
          out.items.push_back(std::move(entry));
        }
        // One plugin call per backend page, not one per volume: the plugin answers the whole
        // page from one listing of its storage system where it can.
        if (b.features().controllerVolumeCondition) {
          auto conditions = controllerConditions(b, op.call(), std::move(queries));
          for (size_t i = 0; i < out.items.size(); ++i) {
            auto* c = out.items[i].mutable_status()->mutable_volume_condition();
            c->set_abnormal(conditions[i].abnormal);
            c->set_message(conditions[i].message);
          }
        }
        return out;
      },
      entries);
  if (!next.isOk()) return next.status();
  for (auto& e : entries) *resp->add_entries() = std::move(e);
  resp->set_next_token(*next);
  return Status::ok();
}

grpc::Status ControllerService::GetCapacity(grpc::ServerContext* ctx,
                                            const csi::v1::GetCapacityRequest* req,
                                            csi::v1::GetCapacityResponse* resp) {
  Operation op(driver_, "GetCapacity", ctx);
  return op.finish(getCapacity(op, *req, resp));
}

Status ControllerService::getCapacity(Operation& op, const csi::v1::GetCapacityRequest& req,
                                      csi::v1::GetCapacityResponse* resp) {
  auto classBackends = routeClassBackends(driver_, req.parameters());
  if (!classBackends.isOk()) return classBackends.status();
  const plugin_host::ConfiguredBackend& first = *classBackends->front();
  if (classBackends->size() == 1) op.setBackend(first.name());
  for (const auto* b : *classBackends)
    if (!b->features().getCapacity)
      return backendLacks(*b, "GetCapacity", "reporting capacity", Code::kUnimplemented);
  for (int i = 0; i < req.volume_capabilities().size(); ++i) {
    std::string field = "volume_capabilities[" + std::to_string(i) + "]";
    auto modes = checkCapability(req.volume_capabilities(i), field.c_str());
    if (!modes.isOk()) return modes.status();
    // CSI: capacity for a capability the backend cannot provide is zero (one plugin per class).
    if (effectiveSemantics(first.descriptor(), modes->access, modes->volume) ==
        AttachSemantics::kUnsupported) {
      resp->set_available_capacity(0);
      return Status::ok();
    }
  }
  // external-provisioner's capacity tracking asks once per topology segment: the capacity
  // there is what the class's backends reachable from it have free, each volume landing on
  // one of them (backend_placement.hpp). A segment no backend serves has none.
  std::vector<const plugin_host::ConfiguredBackend*> serving = *classBackends;
  if (req.has_accessible_topology())
    serving = backendsServing(serving, StringMap(req.accessible_topology().segments().begin(),
                                                 req.accessible_topology().segments().end()));
  StringMap params;
  for (const auto& [k, v] : req.parameters())
    if (k != kBackendParameter && k != kBackendsParameter && k != kMigrationTimeoutParameter &&
        k.rfind(kProvisionerPrefix, 0) != 0)
      params[k] = v;
  int64_t available = 0;
  int64_t largest = 0;  // the largest volume one backend can take
  int64_t minimum = 0;
  for (const auto* b : serving) {
    auto capacity = b->instance().getCapacity(CapacityRequest{op.call(), params});
    if (!capacity.isOk()) {
      if (classBackends->size() == 1) return capacity.status();
      return Status(capacity.status().code(),
                    "GetCapacity: backend '" + b->name() + "': " + capacity.status().message());
    }
    available += capacity->availableBytes;
    int64_t fits = capacity->availableBytes;
    if (capacity->maximumVolumeBytes > 0) fits = std::min(fits, capacity->maximumVolumeBytes);
    largest = std::max(largest, classBackends->size() == 1 ? capacity->maximumVolumeBytes : fits);
    if (capacity->minimumVolumeBytes > 0)
      minimum = minimum == 0 ? capacity->minimumVolumeBytes
                             : std::min(minimum, capacity->minimumVolumeBytes);
  }
  resp->set_available_capacity(available);
  // Several backends: no volume can be larger than the room on one of them, whatever the sum
  // (the scheduler compares a claim with maximumVolumeSize when it is set).
  if (largest > 0) resp->mutable_maximum_volume_size()->set_value(largest);
  if (minimum > 0) resp->mutable_minimum_volume_size()->set_value(minimum);
  return Status::ok();
}

grpc::Status ControllerService::CreateSnapshot(grpc::ServerContext* ctx,
                                               const csi::v1::CreateSnapshotRequest* req,
                                               csi::v1::CreateSnapshotResponse* resp) {
  Operation op(driver_, "CreateSnapshot", ctx);
  return op.finish(createSnapshot(op, *req, resp));
}

Status ControllerService::createSnapshot(Operation& op, const csi::v1::CreateSnapshotRequest& req,
                                         csi::v1::CreateSnapshotResponse* resp) {
  op.setSubject(req.name());
  if (auto s = requireField(req.name(), "name"); !s.isOk()) return s;
  if (auto s = requireField(req.source_volume_id(), "source_volume_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.source_volume_id());
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  if (!b.features().snapshots)
    return backendLacks(b, "CreateSnapshot", "snapshots", Code::kUnimplemented);
  auto lock = driver_.controllerLocks.tryLock("snapshot/" + req.name());
  if (!lock)
    return Status(Code::kAborted, "an operation on snapshot " + req.name() + " is pending");
  // The snapshotter's own keys (--extra-create-metadata: the VolumeSnapshot's and its
  // content's names) describe the request, they do not configure the plugin: a plugin that
  // takes no VolumeSnapshotClass parameters must still accept every snapshot.
  StringMap parameters;
  for (const auto& [key, value] : req.parameters())
    if (key.rfind(kProvisionerPrefix, 0) != 0) parameters[key] = value;
  auto created = b.instance().createSnapshot(CreateSnapshotRequest{
      op.call(), req.name(), routed->localId, parameters, toStringMap(req.secrets())});
  if (!created.isOk()) return created.status();
  auto snapshot = toCsiSnapshot(b, *created);
  if (!snapshot.isOk()) return snapshot.status();
  if (snapshot->source_volume_id() != req.source_volume_id())
    return Status(Code::kAlreadyExists, "snapshot " + req.name() +
                                            " already exists for another source volume (" +
                                            snapshot->source_volume_id() + ")");
  *resp->mutable_snapshot() = *snapshot;
  return Status::ok();
}

grpc::Status ControllerService::DeleteSnapshot(grpc::ServerContext* ctx,
                                               const csi::v1::DeleteSnapshotRequest* req,
                                               csi::v1::DeleteSnapshotResponse*) {
  Operation op(driver_, "DeleteSnapshot", ctx);
  return op.finish(deleteSnapshot(op, *req));
}

Status ControllerService::deleteSnapshot(Operation& op, const csi::v1::DeleteSnapshotRequest& req) {
  op.setSubject(req.snapshot_id());
  if (auto s = requireField(req.snapshot_id(), "snapshot_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.snapshot_id());
  if (!routed.isOk()) {
    // As DeleteVolume: only an id that cannot be polycsi's is deleted already.
    if (routed.status().code() != Code::kNotFound) return routed.status();
    spdlog::info("DeleteSnapshot {}: {}; nothing to delete", req.snapshot_id(),
                 routed.status().message());
    return Status::ok();
  }
  op.setBackend(routed->backend->name());
  if (!routed->backend->features().snapshots)
    return backendLacks(*routed->backend, "DeleteSnapshot", "snapshots", Code::kUnimplemented);
  auto lock = driver_.controllerLocks.tryLock(req.snapshot_id());
  if (!lock)
    return Status(Code::kAborted, "an operation on snapshot " + req.snapshot_id() + " is pending");
  return routed->backend->instance().deleteSnapshot(
      SnapshotIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
}

grpc::Status ControllerService::ListSnapshots(grpc::ServerContext* ctx,
                                              const csi::v1::ListSnapshotsRequest* req,
                                              csi::v1::ListSnapshotsResponse* resp) {
  Operation op(driver_, "ListSnapshots", ctx);
  return op.finish(listSnapshots(op, *req, resp));
}

Status ControllerService::listSnapshots(Operation& op, const csi::v1::ListSnapshotsRequest& req,
                                        csi::v1::ListSnapshotsResponse* resp) {
  auto backends = backendsWith(driver_, [](const PluginFeatures& f) { return f.snapshots; });
  if (backends.empty()) return Status(Code::kUnimplemented, "no backend supports snapshots");
  std::string snapshotFilter, volumeFilter;
  const plugin_host::ConfiguredBackend* filterBackend = nullptr;
  // A filter naming something that is not ours matches nothing (CSI: empty list, not an error).
  for (const auto& [csiId, local] : {std::pair{&req.snapshot_id(), &snapshotFilter},
                                     std::pair{&req.source_volume_id(), &volumeFilter}}) {
    if (csiId->empty()) continue;
    auto routed = routeId(driver_, *csiId);
    if (!routed.isOk() || !routed->backend->features().snapshots) return Status::ok();
    // Both filters on different backends: no snapshot can match both. (Compared by the routed
    // backend: an adopted rds-csi id carries no backend name to decode.)
    if (filterBackend != nullptr && filterBackend != routed->backend) return Status::ok();
    filterBackend = routed->backend;
    backends = {routed->backend};
    *local = routed->localId;
  }
  std::vector<csi::v1::Snapshot> snapshots;
  auto next = pageAcrossBackends<csi::v1::Snapshot>(
      backends, req.starting_token(), req.max_entries(),
      [&](const plugin_host::ConfiguredBackend& b, const std::string& token,
          int32_t max) -> StatusOr<BackendPage<csi::v1::Snapshot>> {
        auto page = b.instance().listSnapshots(
            ListRequest{op.call(), max, token, volumeFilter, snapshotFilter});
        if (!page.isOk()) return page.status();
        BackendPage<csi::v1::Snapshot> out;
        out.nextToken = page->nextToken;
        for (const auto& s : page->snapshots) {
          auto snapshot = toCsiSnapshot(b, s);
          if (!snapshot.isOk()) return snapshot.status();
          out.items.push_back(std::move(*snapshot));
        }
        return out;
      },
      snapshots);
  if (!next.isOk()) return next.status();
  for (auto& s : snapshots) *resp->add_entries()->mutable_snapshot() = std::move(s);
  resp->set_next_token(*next);
  return Status::ok();
}

grpc::Status ControllerService::GetSnapshot(grpc::ServerContext* ctx,
                                            const csi::v1::GetSnapshotRequest* req,
                                            csi::v1::GetSnapshotResponse* resp) {
  Operation op(driver_, "GetSnapshot", ctx);
  return op.finish(getSnapshot(op, *req, resp));
}

Status ControllerService::getSnapshot(Operation& op, const csi::v1::GetSnapshotRequest& req,
                                      csi::v1::GetSnapshotResponse* resp) {
  op.setSubject(req.snapshot_id());
  if (auto s = requireField(req.snapshot_id(), "snapshot_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.snapshot_id());
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  if (!b.features().snapshots)
    return backendLacks(b, "GetSnapshot", "snapshots", Code::kUnimplemented);
  auto page = b.instance().listSnapshots(ListRequest{op.call(), 1, "", "", routed->localId});
  if (!page.isOk()) return page.status();
  if (page->snapshots.empty())
    return Status(Code::kNotFound, "snapshot " + req.snapshot_id() + " does not exist");
  auto snapshot = toCsiSnapshot(b, page->snapshots.front());
  if (!snapshot.isOk()) return snapshot.status();
  *resp->mutable_snapshot() = *snapshot;
  return Status::ok();
}

}  // namespace polycsi::server
