// CSI GroupController calls against a running driver, as the external-snapshotter makes them
// (with its --extra-create-metadata keys), each with its own deadline; the gRPC status comes
// back untouched so a test can assert success or the exact refusal.
// THREADING: gRPC stubs are thread-safe; the DriverProcess must outlive the calls.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "csi.grpc.pb.h"
#include "driver_process.hpp"

namespace polycsi::testing {

// CreateVolumeGroupSnapshot of `sources` named `name`, with the keys csi-snapshotter adds with
// --extra-create-metadata (external-snapshotter v8.6.0 pkg/sidecar-controller/
// groupsnapshot_helper.go, keys of pkg/utils/util.go PrefixedVolumeGroupSnapshot*), which the
// core must not hand to the plugin.
inline grpc::Status createGroupSnapshot(DriverProcess& driver, const std::string& name,
                                        const std::vector<std::string>& sources,
                                        csi::v1::CreateVolumeGroupSnapshotResponse* out) {
  csi::v1::CreateVolumeGroupSnapshotRequest req;
  req.set_name(name);
  for (const auto& s : sources) req.add_source_volume_ids(s);
  auto& p = *req.mutable_parameters();
  p["csi.storage.k8s.io/volumegroupsnapshot/name"] = "vm-snapshot";
  p["csi.storage.k8s.io/volumegroupsnapshot/namespace"] = "vms";
  p["csi.storage.k8s.io/volumegroupsnapshotcontent/name"] = name;
  auto ctx = rpcContext(120);
  return driver.groupController().CreateVolumeGroupSnapshot(ctx.get(), req, out);
}

// The member ids of a group as the CO passes them back in Get and Delete.
inline std::vector<std::string> memberIds(const csi::v1::VolumeGroupSnapshot& group) {
  std::vector<std::string> ids;
  for (const auto& s : group.snapshots()) ids.push_back(s.snapshot_id());
  return ids;
}

inline grpc::Status getGroupSnapshot(DriverProcess& driver, const std::string& groupId,
                                     const std::vector<std::string>& snapshotIds,
                                     csi::v1::GetVolumeGroupSnapshotResponse* out) {
  csi::v1::GetVolumeGroupSnapshotRequest req;
  req.set_group_snapshot_id(groupId);
  for (const auto& s : snapshotIds) req.add_snapshot_ids(s);
  auto ctx = rpcContext();
  return driver.groupController().GetVolumeGroupSnapshot(ctx.get(), req, out);
}

inline grpc::Status deleteGroupSnapshot(DriverProcess& driver, const std::string& groupId,
                                        const std::vector<std::string>& snapshotIds) {
  csi::v1::DeleteVolumeGroupSnapshotRequest req;
  req.set_group_snapshot_id(groupId);
  for (const auto& s : snapshotIds) req.add_snapshot_ids(s);
  csi::v1::DeleteVolumeGroupSnapshotResponse out;
  auto ctx = rpcContext(120);
  return driver.groupController().DeleteVolumeGroupSnapshot(ctx.get(), req, &out);
}

// Every snapshot the driver lists (all pages).
inline grpc::Status listAllSnapshots(DriverProcess& driver, std::vector<csi::v1::Snapshot>* out) {
  std::string token;
  do {
    csi::v1::ListSnapshotsRequest req;
    req.set_starting_token(token);
    csi::v1::ListSnapshotsResponse resp;
    auto ctx = rpcContext();
    auto status = driver.controller().ListSnapshots(ctx.get(), req, &resp);
    if (!status.ok()) return status;
    for (const auto& e : resp.entries()) out->push_back(e.snapshot());
    token = resp.next_token();
  } while (!token.empty());
  return grpc::Status::OK;
}

}  // namespace polycsi::testing
