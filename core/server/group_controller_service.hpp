// CSI GroupController service (CSI >= 1.11): group snapshots of several volumes of one backend.
//
// The core builds a group from per-volume snapshots for every plugin that declares a group
// snapshot consistency (Descriptor::groupSnapshotConsistency): in one pass, in the order of the
// sorted source volume ids, each member named after the group (server/group_snapshot_ids.hpp)
// and tagged with the group's local id, which the plugin keeps with the snapshot. Delete and Get
// find the members by listing the backend with that tag, so any controller replica answers for
// any group and nothing is kept in memory or on local disk. A group that fails part-way is
// rolled back: every member this call took is deleted before the error is returned.
// A plugin that declares crash-consistent group snapshots and has the ABI 1.4 group calls gets
// the whole member list in one create_group_snapshot (the storage system cuts every member at one
// instant and cleans up itself on failure) and the group id in one delete_group_snapshot; its
// members are tagged the same way, so Get, ListSnapshots and restores are unchanged.
// Thread-safe: RPCs run concurrently; a lock per group serializes work on one group.
#pragma once

#include <string>
#include <vector>

#include "csi.grpc.pb.h"
#include "server/driver_context.hpp"
#include "server/operation.hpp"

namespace polycsi::server {

class GroupControllerService final : public csi::v1::GroupController::Service {
 public:
  explicit GroupControllerService(DriverContext& driver) : driver_(driver) {}

  grpc::Status GroupControllerGetCapabilities(
      grpc::ServerContext*, const csi::v1::GroupControllerGetCapabilitiesRequest*,
      csi::v1::GroupControllerGetCapabilitiesResponse*) override;
  grpc::Status CreateVolumeGroupSnapshot(grpc::ServerContext*,
                                         const csi::v1::CreateVolumeGroupSnapshotRequest*,
                                         csi::v1::CreateVolumeGroupSnapshotResponse*) override;
  grpc::Status DeleteVolumeGroupSnapshot(grpc::ServerContext*,
                                         const csi::v1::DeleteVolumeGroupSnapshotRequest*,
                                         csi::v1::DeleteVolumeGroupSnapshotResponse*) override;
  grpc::Status GetVolumeGroupSnapshot(grpc::ServerContext*,
                                      const csi::v1::GetVolumeGroupSnapshotRequest*,
                                      csi::v1::GetVolumeGroupSnapshotResponse*) override;

 private:
  Status createGroup(Operation& op, const csi::v1::CreateVolumeGroupSnapshotRequest& req,
                     csi::v1::CreateVolumeGroupSnapshotResponse* resp);
  Status deleteGroup(Operation& op, const csi::v1::DeleteVolumeGroupSnapshotRequest& req);
  Status getGroup(Operation& op, const csi::v1::GetVolumeGroupSnapshotRequest& req,
                  csi::v1::GetVolumeGroupSnapshotResponse* resp);

  DriverContext& driver_;
};

}  // namespace polycsi::server
