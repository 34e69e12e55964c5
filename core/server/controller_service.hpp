// CSI Controller service. Each RPC reads: capability check -> argument validation -> route to
// the backend -> per-volume lock (ABORTED when busy) -> idempotent action through the plugin,
// with the attachment state machine (core/attach) around ControllerPublish/Unpublish.
// Thread-safe: RPCs run concurrently; the locks serialize work on one volume.
#pragma once

#include <vector>

#include "csi.grpc.pb.h"
#include "server/driver_context.hpp"
#include "server/operation.hpp"

namespace polycsi::server {

class ControllerService final : public csi::v1::Controller::Service {
 public:
  explicit ControllerService(DriverContext& driver) : driver_(driver) {}

  grpc::Status CreateVolume(grpc::ServerContext*, const csi::v1::CreateVolumeRequest*,
                            csi::v1::CreateVolumeResponse*) override;
  grpc::Status DeleteVolume(grpc::ServerContext*, const csi::v1::DeleteVolumeRequest*,
                            csi::v1::DeleteVolumeResponse*) override;
  grpc::Status ControllerPublishVolume(grpc::ServerContext*,
                                       const csi::v1::ControllerPublishVolumeRequest*,
                                       csi::v1::ControllerPublishVolumeResponse*) override;
  grpc::Status ControllerUnpublishVolume(grpc::ServerContext*,
                                         const csi::v1::ControllerUnpublishVolumeRequest*,
                                         csi::v1::ControllerUnpublishVolumeResponse*) override;
  grpc::Status ValidateVolumeCapabilities(grpc::ServerContext*,
                                          const csi::v1::ValidateVolumeCapabilitiesRequest*,
                                          csi::v1::ValidateVolumeCapabilitiesResponse*) override;
  grpc::Status ListVolumes(grpc::ServerContext*, const csi::v1::ListVolumesRequest*,
                           csi::v1::ListVolumesResponse*) override;
  grpc::Status GetCapacity(grpc::ServerContext*, const csi::v1::GetCapacityRequest*,
                           csi::v1::GetCapacityResponse*) override;
  grpc::Status ControllerGetCapabilities(grpc::ServerContext*,
                                         const csi::v1::ControllerGetCapabilitiesRequest*,
                                         csi::v1::ControllerGetCapabilitiesResponse*) override;
  grpc::Status CreateSnapshot(grpc::ServerContext*, const csi::v1::CreateSnapshotRequest*,
                              csi::v1::CreateSnapshotResponse*) override;
  grpc::Status DeleteSnapshot(grpc::ServerContext*, const csi::v1::DeleteSnapshotRequest*,
                              csi::v1::DeleteSnapshotResponse*) override;
  grpc::Status ListSnapshots(grpc::ServerContext*, const csi::v1::ListSnapshotsRequest*,
                             csi::v1::ListSnapshotsResponse*) override;
  grpc::Status GetSnapshot(grpc::ServerContext*, const csi::v1::GetSnapshotRequest*,
                           csi::v1::GetSnapshotResponse*) override;
  grpc::Status ControllerExpandVolume(grpc::ServerContext*,
                                      const csi::v1::ControllerExpandVolumeRequest*,
                                      csi::v1::ControllerExpandVolumeResponse*) override;
  grpc::Status ControllerGetVolume(grpc::ServerContext*, const csi::v1::ControllerGetVolumeRequest*,
                                   csi::v1::ControllerGetVolumeResponse*) override;
  grpc::Status ControllerModifyVolume(grpc::ServerContext*,
                                      const csi::v1::ControllerModifyVolumeRequest*,
                                      csi::v1::ControllerModifyVolumeResponse*) override;

 private:
  // UNAVAILABLE (the CO retries) until the attachments are known (DriverContext::
  // attachmentsKnown): `what` names the call that needs them.
  Status requireKnownAttachments(const std::string& what) const;
  // With several replicas: OK only on the one that may change attachments
  // (kube/controller_leadership.hpp); UNAVAILABLE on the others.
  Status requireAttachmentAuthority(const std::string& what) const;
  Status createVolume(Operation& op, const csi::v1::CreateVolumeRequest& req,
                      csi::v1::CreateVolumeResponse* resp);
  // The backend of `candidates` (a StorageClass's, routeClassBackends) the new volume goes to:
  // the one that already holds a volume of req.name, else chooseBackend's pick
  // (backend_placement.hpp); a clone or restore stays on its source's backend.
  StatusOr<const plugin_host::ConfiguredBackend*> placeVolume(
      Operation& op, const csi::v1::CreateVolumeRequest& req,
      const std::vector<const plugin_host::ConfiguredBackend*>& candidates, const StringMap& params,
      const csi::v1::TopologyRequirement* requirement);
  Status deleteVolume(Operation& op, const csi::v1::DeleteVolumeRequest& req);
  Status publish(Operation& op, const csi::v1::ControllerPublishVolumeRequest& req,
                 csi::v1::ControllerPublishVolumeResponse* resp);
  Status unpublish(Operation& op, const csi::v1::ControllerUnpublishVolumeRequest& req);
  Status validateCapabilities(Operation& op, const csi::v1::ValidateVolumeCapabilitiesRequest& req,
                              csi::v1::ValidateVolumeCapabilitiesResponse* resp);
  Status listVolumes(Operation& op, const csi::v1::ListVolumesRequest& req,
                     csi::v1::ListVolumesResponse* resp);
  Status getCapacity(Operation& op, const csi::v1::GetCapacityRequest& req,
                     csi::v1::GetCapacityResponse* resp);
  Status createSnapshot(Operation& op, const csi::v1::CreateSnapshotRequest& req,
                        csi::v1::CreateSnapshotResponse* resp);
  Status deleteSnapshot(Operation& op, const csi::v1::DeleteSnapshotRequest& req);
  Status listSnapshots(Operation& op, const csi::v1::ListSnapshotsRequest& req,
                       csi::v1::ListSnapshotsResponse* resp);
  Status getSnapshot(Operation& op, const csi::v1::GetSnapshotRequest& req,
                     csi::v1::GetSnapshotResponse* resp);
  Status expandVolume(Operation& op, const csi::v1::ControllerExpandVolumeRequest& req,
                      csi::v1::ControllerExpandVolumeResponse* resp);
  Status getVolume(Operation& op, const csi::v1::ControllerGetVolumeRequest& req,
                   csi::v1::ControllerGetVolumeResponse* resp);
  Status modifyVolume(Operation& op, const csi::v1::ControllerModifyVolumeRequest& req);

  DriverContext& driver_;
};

}  // namespace polycsi::server
