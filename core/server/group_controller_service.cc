#include "server/group_controller_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "server/advertised_capabilities.hpp"
#include "server/csi_snapshots.hpp"
#include "server/csi_validation.hpp"
#include "server/group_snapshot_ids.hpp"
#include "server/proto_maps.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {
namespace {

using csi::v1::GroupControllerServiceCapability;

// The backend's group snapshot consistency, or the error for a backend that takes no part in
// group snapshots. CSI: volumes that "cannot be snapshotted together" are FAILED_PRECONDITION.
Status requireGroupSnapshots(const plugin_host::ConfiguredBackend& b, const std::string& rpc) {
  if (b.features().snapshots && b.descriptor().groupSnapshotConsistency != GroupConsistency::kNone)
    return Status::ok();
  return backendLacks(b, rpc, "group snapshots", Code::kFailedPrecondition);
}

// True when `b` takes a whole group in one plugin call (ABI 1.4 create_group_snapshot) rather
// than one create_snapshot per member: the plugin has the call and declares that it cuts the
// members at one instant. A plugin with the call that declares less, or one built against ABI
// 1.3 (the call reads as absent), gets the per-volume path.
bool takesGroupInOneCall(const plugin_host::ConfiguredBackend& b) {
  return b.features().groupSnapshotCall &&
         b.descriptor().groupSnapshotConsistency == GroupConsistency::kCrashConsistent;
}

// Every member of a group, over all pages of the backend's listing.
StatusOr<std::vector<Snapshot>> listMembers(const plugin_host::ConfiguredBackend& b,
                                            const Call& call, const std::string& groupLocalId) {
  std::vector<Snapshot> members;
  std::string token;
  do {
    ListRequest list{call, 0, token, "", ""};
    list.groupSnapshotId = groupLocalId;
    auto page = b.instance().listSnapshots(list);
    if (!page.isOk()) return page.status();
    for (auto& s : page->snapshots) {
      // A plugin that ignored the filter would hand out other snapshots as members.
      if (s.groupSnapshotId != groupLocalId)
        return Status(Code::kInternal, "backend '" + b.name() + "' (plugin " + b.descriptor().name +
                                           ") listed snapshot " + s.id + " as a member of group " +
                                           groupLocalId + ", but it belongs to '" +
                                           s.groupSnapshotId + "'");
      members.push_back(std::move(s));
    }
    token = page->nextToken;
  } while (!token.empty());
  return members;
}

// The id of a group of `b` made under the same name with another set of volumes, or empty: any
// snapshot whose group id starts with the name's prefix but is not `groupLocalId`. Lists every
// snapshot of the backend (a CreateVolumeGroupSnapshot is rare; the listing is the price of
// keeping no state). A member of such a group whose copy still runs is not in a plain listing
// (nfs): until it completes, its group is not seen here.
StatusOr<std::string> otherGroupOfName(const plugin_host::ConfiguredBackend& b, const Call& call,
                                       const std::string& prefix, const std::string& groupLocalId) {
  std::string token;
  do {
    auto page = b.instance().listSnapshots(ListRequest{call, 0, token, "", ""});
    if (!page.isOk()) return page.status();
    for (const auto& s : page->snapshots)
      if (s.groupSnapshotId != groupLocalId && s.groupSnapshotId.rfind(prefix, 0) == 0)
        return s.groupSnapshotId;
    token = page->nextToken;
  } while (!token.empty());
  return std::string();
}

// Fills a CSI group from its members, in the group's order (by source volume, as Create took
// them), whatever order the backend lists them in; ready when every member is.
Status fillGroup(const plugin_host::ConfiguredBackend& b, const std::string& groupCsiId,
                 std::vector<Snapshot> members, csi::v1::VolumeGroupSnapshot* out) {
  std::sort(members.begin(), members.end(), [](const Snapshot& x, const Snapshot& y) {
    return x.sourceVolumeId < y.sourceVolumeId;
  });
  out->set_group_snapshot_id(groupCsiId);
  bool ready = true;
  int64_t earliest = members.empty() ? 0 : members.front().creationTimeUnixNs;
  for (const auto& m : members) {
    auto snapshot = toCsiSnapshot(b, m);
    if (!snapshot.isOk()) return snapshot.status();
    *out->add_snapshots() = std::move(*snapshot);
    ready = ready && m.readyToUse;
    earliest = std::min(earliest, m.creationTimeUnixNs);
  }
  out->mutable_creation_time()->set_seconds(earliest / 1000000000);
  out->mutable_creation_time()->set_nanos(static_cast<int32_t>(earliest % 1000000000));
  out->set_ready_to_use(ready);
  return Status::ok();
}

// CSI Delete/GetVolumeGroupSnapshot: `snapshot_ids` must name exactly the group's members
// (those still there); a mismatch is INVALID_ARGUMENT. Ids of members already gone are
// accepted, so a retried Delete after a partial one succeeds.
Status checkSnapshotIds(const plugin_host::ConfiguredBackend& b, const std::string& groupCsiId,
                        const google::protobuf::RepeatedPtrField<std::string>& snapshotIds,
                        const std::vector<Snapshot>& members, const Call& call) {
  std::set<std::string> named(snapshotIds.begin(), snapshotIds.end());
  std::set<std::string> memberIds;
  for (const auto& m : members) {
    auto id = csiIdOf(b, m.id);
    if (!id.isOk()) return id.status();
    memberIds.insert(*id);
    if (named.count(*id) == 0)
      return Status(Code::kInvalidArgument, "snapshot_ids does not name snapshot " + *id +
                                                ", a member of group snapshot " + groupCsiId);
  }
  for (const auto& id : named) {
    if (memberIds.count(id) != 0) continue;
    auto routed = volume::decodeVolumeId(id);
    if (!routed.isOk() || routed->backend != b.name())
      return Status(
          Code::kInvalidArgument,
          "snapshot_ids names " + id + ", which is not a member of group snapshot " + groupCsiId);
    // Not a member now: acceptable only when it is gone (deleted by an earlier call).
    auto page = b.instance().listSnapshots(ListRequest{call, 1, "", "", routed->local});
    if (!page.isOk()) return page.status();
    if (!page->snapshots.empty())
      return Status(
          Code::kInvalidArgument,
          "snapshot_ids names " + id + ", which is not a member of group snapshot " + groupCsiId);
  }
  return Status::ok();
}

}  // namespace

grpc::Status GroupControllerService::GroupControllerGetCapabilities(
    grpc::ServerContext* ctx, const csi::v1::GroupControllerGetCapabilitiesRequest*,
    csi::v1::GroupControllerGetCapabilitiesResponse* resp) {
  Operation op(driver_, "GroupControllerGetCapabilities", ctx);
  // The union rule of advertised_capabilities.hpp: a group of a backend without group
  // snapshots fails naming that backend.
  if (AdvertisedCapabilities::of(driver_.backends).groupSnapshots)
    resp->add_capabilities()->mutable_rpc()->set_type(
        GroupControllerServiceCapability::RPC::CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT);
  return op.finish(Status::ok());
}

grpc::Status GroupControllerService::CreateVolumeGroupSnapshot(
    grpc::ServerContext* ctx, const csi::v1::CreateVolumeGroupSnapshotRequest* req,
    csi::v1::CreateVolumeGroupSnapshotResponse* resp) {
  Operation op(driver_, "CreateVolumeGroupSnapshot", ctx);
  return op.finish(createGroup(op, *req, resp));
}

Status GroupControllerService::createGroup(Operation& op,
                                           const csi::v1::CreateVolumeGroupSnapshotRequest& req,
                                           csi::v1::CreateVolumeGroupSnapshotResponse* resp) {
  op.setSubject(req.name());
  if (auto s = requireField(req.name(), "name"); !s.isOk()) return s;
  if (req.source_volume_ids().empty())
    return Status(Code::kInvalidArgument, "source_volume_ids is required");
  if (static_cast<size_t>(req.source_volume_ids().size()) > kMaxGroupMembers)
    return Status(Code::kInvalidArgument, "source_volume_ids has " +
                                              std::to_string(req.source_volume_ids().size()) +
                                              " volumes; a group snapshot holds at most " +
                                              std::to_string(kMaxGroupMembers));
  // Sorted: the member order, hence each member's name, does not depend on the CO's order.
  std::vector<std::string> sources(req.source_volume_ids().begin(), req.source_volume_ids().end());
  std::sort(sources.begin(), sources.end());
  const plugin_host::ConfiguredBackend* backend = nullptr;
  std::vector<std::string> localSources;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (sources[i].empty())
      return Status(Code::kInvalidArgument, "source_volume_ids has an empty entry");
    if (i > 0 && sources[i] == sources[i - 1])
      return Status(Code::kInvalidArgument,
                    "source_volume_ids names volume " + sources[i] + " twice");
    auto routed = routeId(driver_, sources[i]);
    if (!routed.isOk()) return routed.status();
    if (backend != nullptr && routed->backend != backend)
      return Status(Code::kFailedPrecondition,
                    "volumes " + sources.front() + " (backend '" + backend->name() + "') and " +
                        sources[i] + " (backend '" + routed->backend->name() +
                        "') cannot be snapshotted together: a group snapshot is taken by one "
                        "backend");
    backend = routed->backend;
    localSources.push_back(routed->localId);
  }
  const plugin_host::ConfiguredBackend& b = *backend;
  op.setBackend(b.name());
  if (auto s = requireGroupSnapshots(b, "CreateVolumeGroupSnapshot"); !s.isOk()) return s;
  const std::string groupLocalId = server::groupLocalId(req.name(), sources);
  auto groupCsiId = csiIdOf(b, groupLocalId);
  if (!groupCsiId.isOk()) return groupCsiId.status();
  // By name: two requests of one name with different volumes must not both pass the check below.
  auto nameLock = driver_.controllerLocks.tryLock("groupname/" + req.name());
  auto lock = driver_.controllerLocks.tryLock("group/" + *groupCsiId);
  if (!nameLock || !lock)
    return Status(Code::kAborted, "an operation on group snapshot " + req.name() + " is pending");

  // CSI ALREADY_EXISTS: a group of this name with another set of volumes.
  auto other = otherGroupOfName(b, op.call(), groupIdPrefixForName(req.name()), groupLocalId);
  if (!other.isOk()) return other.status();
  if (!other->empty()) {
    auto otherId = csiIdOf(b, *other);
    return Status(Code::kAlreadyExists,
                  "group snapshot " + req.name() + " already exists with other volumes (group " +
                      (otherId.isOk() ? *otherId : *other) + "); use another name");
  }
  // This group already (partly) taken: a retry, or one whose creator stopped before it
  // finished or rolled back; it is completed. Its members must be of these volumes (they are,
  // unless two sets' hashes collide).
  auto existing = listMembers(b, op.call(), groupLocalId);
  if (!existing.isOk()) return existing.status();
  std::set<std::string> wanted(localSources.begin(), localSources.end());
  std::set<std::string> taken;
  for (const auto& m : *existing) {
    if (wanted.count(m.sourceVolumeId) == 0) {
      auto other = csiIdOf(b, m.sourceVolumeId);
      return Status(Code::kAlreadyExists,
                    "group snapshot " + req.name() + " already exists with volume " +
                        (other.isOk() ? *other : m.sourceVolumeId) +
                        ", which this request does not name; use another name");
    }
    taken.insert(m.sourceVolumeId);
  }

  StringMap parameters;
  for (const auto& [key, value] : req.parameters())
    if (key.rfind(kProvisionerPrefix, 0) != 0) parameters[key] = value;
  const GroupConsistency consistency = b.descriptor().groupSnapshotConsistency;
  spdlog::info(
      "CreateVolumeGroupSnapshot {}: group {} of {} volume(s) on backend '{}' (plugin {}), "
      "consistency {}",
      req.name(), *groupCsiId, sources.size(), b.name(), b.descriptor().name,
      groupConsistencyName(consistency));

  if (takesGroupInOneCall(b)) {
    // One call: the plugin cuts every member at one instant, and on failure leaves nothing of the
    // call behind (plugin_abi.h), so there is nothing to roll back here. A retry reaches the
    // same group id and the plugin returns the same snapshots.
    CreateGroupSnapshotRequest create{
        op.call(), groupLocalId, {}, parameters, toStringMap(req.secrets())};
    for (size_t i = 0; i < localSources.size(); ++i)
      create.members.push_back(
          GroupSnapshotMember{groupMemberName(groupLocalId, i), localSources[i]});
    auto created = b.instance().createGroupSnapshot(create);
    if (!created.isOk()) {
      std::string message = "CreateVolumeGroupSnapshot " + req.name() + ": backend '" + b.name() +
                            "' (plugin " + b.descriptor().name + ") could not take the " +
                            std::to_string(sources.size()) +
                            " volume(s) at one instant: " + created.status().message();
      spdlog::warn("{}", message);
      return Status(created.status().code(), message);
    }
    return fillGroup(b, *groupCsiId, std::move(*created), resp->mutable_group_snapshot());
  }

  std::vector<Snapshot> members;
  for (size_t i = 0; i < localSources.size(); ++i) {
    CreateSnapshotRequest create{op.call(),  groupMemberName(groupLocalId, i), localSources[i],
                                 parameters, toStringMap(req.secrets()),       groupLocalId};
    auto created = b.instance().createSnapshot(create);
    if (created.isOk() && created->groupSnapshotId != groupLocalId)
      created =
          Status(Code::kInternal, "plugin " + b.descriptor().name + " returned snapshot " +
                                      created->id + " without the group it was created for (" +
                                      groupLocalId + "): it does not keep group ids");
    if (created.isOk() && created->sourceVolumeId != localSources[i])
      created =
          Status(Code::kAlreadyExists, "group snapshot " + req.name() +
                                           " already exists with other volumes (member " +
                                           create.name + " is of " + created->sourceVolumeId + ")");
    if (created.isOk()) {
      members.push_back(std::move(*created));
      continue;
    }
    // Roll back what this call took, newest first: the members it made and the failed one, in
    // case the plugin left part of it. Found by their group tag, so a member whose reply was
    // lost is found too. Members an earlier call took stay: a failed retry must not destroy a
    // group that was already acknowledged.
    std::vector<Snapshot> toRemove = members;
    auto listed = listMembers(b, op.call(), groupLocalId);
    if (listed.isOk()) toRemove = std::move(*listed);
    std::string failures = listed.isOk() ? "" : "listing the group: " + listed.status().message();
    size_t removed = 0;            // members taken before the failed one
    bool leftoverRemoved = false;  // what the plugin left of the failed member
    for (auto it = toRemove.rbegin(); it != toRemove.rend(); ++it) {
      if (taken.count(it->sourceVolumeId) != 0) continue;
      auto gone = b.instance().deleteSnapshot(
          SnapshotIdRequest{op.call(), it->id, toStringMap(req.secrets())});
      if (!gone.isOk())
        failures += (failures.empty() ? "" : "; ") + it->id + ": " + gone.message();
      else if (it->sourceVolumeId == localSources[i])
        leftoverRemoved = true;
      else
        ++removed;
    }
    const std::string failedVolume = sources[i];
    std::string message = "CreateVolumeGroupSnapshot " + req.name() + ": the snapshot of volume " +
                          failedVolume + " (member " + std::to_string(i + 1) + " of " +
                          std::to_string(sources.size()) +
                          ") failed: " + created.status().message() + "; ";
    if (failures.empty()) {
      message += "rolled back: deleted the " + std::to_string(removed) +
                 " member snapshot(s) this request had taken" +
                 (leftoverRemoved ? " and what the failed one left" : "") +
                 ", nothing of it is left";
    } else {
      message += "rolling back left snapshots behind (" + failures +
                 "); retry the request, or DeleteVolumeGroupSnapshot " + *groupCsiId;
    }
    spdlog::warn("{}", message);
    return Status(created.status().code(), message);
  }
  return fillGroup(b, *groupCsiId, members, resp->mutable_group_snapshot());
}

grpc::Status GroupControllerService::DeleteVolumeGroupSnapshot(
    grpc::ServerContext* ctx, const csi::v1::DeleteVolumeGroupSnapshotRequest* req,
    csi::v1::DeleteVolumeGroupSnapshotResponse*) {
  Operation op(driver_, "DeleteVolumeGroupSnapshot", ctx);
  return op.finish(deleteGroup(op, *req));
}

Status GroupControllerService::deleteGroup(Operation& op,
                                           const csi::v1::DeleteVolumeGroupSnapshotRequest& req) {
  op.setSubject(req.group_snapshot_id());
  if (auto s = requireField(req.group_snapshot_id(), "group_snapshot_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.group_snapshot_id());
  if (!routed.isOk()) {
    // As DeleteSnapshot: only an id that cannot be polycsi's is deleted already.
    if (routed.status().code() != Code::kNotFound) return routed.status();
    spdlog::info("DeleteVolumeGroupSnapshot {}: {}; nothing to delete", req.group_snapshot_id(),
                 routed.status().message());
    return Status::ok();
  }
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  if (!isGroupLocalId(routed->localId)) return Status::ok();  // never a group of ours
  if (auto s = requireGroupSnapshots(b, "DeleteVolumeGroupSnapshot"); !s.isOk()) return s;
  auto lock = driver_.controllerLocks.tryLock("group/" + req.group_snapshot_id());
  if (!lock)
    return Status(Code::kAborted,
                  "an operation on group snapshot " + req.group_snapshot_id() + " is pending");
  auto members = listMembers(b, op.call(), routed->localId);
  if (!members.isOk()) return members.status();
  if (!req.snapshot_ids().empty()) {
    if (auto s =
            checkSnapshotIds(b, req.group_snapshot_id(), req.snapshot_ids(), *members, op.call());
        !s.isOk())
      return s;
  }
  if (takesGroupInOneCall(b)) {
    // The storage system deletes such a group as a whole (its members may refuse to go one by
    // one), so the plugin gets the group id, not the members.
    auto gone = b.instance().deleteGroupSnapshot(
        GroupSnapshotIdRequest{op.call(), routed->localId, toStringMap(req.secrets())});
    if (!gone.isOk())
      return Status(gone.code(), "DeleteVolumeGroupSnapshot " + req.group_snapshot_id() +
                                     ": backend '" + b.name() + "' could not delete the group (" +
                                     std::to_string(members->size()) +
                                     " member snapshot(s)): " + gone.message() + "; retry");
    spdlog::info("DeleteVolumeGroupSnapshot {}: deleted the group and its {} member snapshot(s)",
                 req.group_snapshot_id(), members->size());
    return Status::ok();
  }
  // Newest first, the reverse of creation.
  for (auto it = members->rbegin(); it != members->rend(); ++it) {
    auto gone = b.instance().deleteSnapshot(
        SnapshotIdRequest{op.call(), it->id, toStringMap(req.secrets())});
    if (!gone.isOk())
      return Status(gone.code(), "DeleteVolumeGroupSnapshot " + req.group_snapshot_id() +
                                     ": deleting member snapshot " + it->id +
                                     " failed: " + gone.message() + "; retry to delete the rest");
  }
  spdlog::info("DeleteVolumeGroupSnapshot {}: deleted {} member snapshot(s)",
               req.group_snapshot_id(), members->size());
  return Status::ok();
}

grpc::Status GroupControllerService::GetVolumeGroupSnapshot(
    grpc::ServerContext* ctx, const csi::v1::GetVolumeGroupSnapshotRequest* req,
    csi::v1::GetVolumeGroupSnapshotResponse* resp) {
  Operation op(driver_, "GetVolumeGroupSnapshot", ctx);
  return op.finish(getGroup(op, *req, resp));
}

Status GroupControllerService::getGroup(Operation& op,
                                        const csi::v1::GetVolumeGroupSnapshotRequest& req,
                                        csi::v1::GetVolumeGroupSnapshotResponse* resp) {
  op.setSubject(req.group_snapshot_id());
  if (auto s = requireField(req.group_snapshot_id(), "group_snapshot_id"); !s.isOk()) return s;
  auto routed = routeId(driver_, req.group_snapshot_id());
  if (!routed.isOk()) return routed.status();
  const plugin_host::ConfiguredBackend& b = *routed->backend;
  op.setBackend(b.name());
  const Status notFound(Code::kNotFound,
                        "group snapshot " + req.group_snapshot_id() + " does not exist");
  if (!isGroupLocalId(routed->localId)) return notFound;
  if (auto s = requireGroupSnapshots(b, "GetVolumeGroupSnapshot"); !s.isOk()) return s;
  auto members = listMembers(b, op.call(), routed->localId);
  if (!members.isOk()) return members.status();
  if (members->empty()) return notFound;
  if (!req.snapshot_ids().empty()) {
    if (auto s =
            checkSnapshotIds(b, req.group_snapshot_id(), req.snapshot_ids(), *members, op.call());
        !s.isOk())
      return s;
  }
  return fillGroup(b, req.group_snapshot_id(), *members, resp->mutable_group_snapshot());
}

}  // namespace polycsi::server
