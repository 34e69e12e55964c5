// The parameters the sidecars add to CSI calls, as deploy/base/controller.yaml runs them (both
// with --extra-create-metadata), for tests that send calls the way the sidecars do.
#pragma once

#include <string>

#include "csi.pb.h"

namespace polycsi::testing {

// The keys external-provisioner v5.1.0 adds to every CreateVolume with
// --extra-create-metadata, as deploy/base/controller.yaml runs it: the claim and the PV.
inline void addProvisionerMetadata(csi::v1::CreateVolumeRequest& req, const std::string& pvcName,
                                   const std::string& pvcNamespace = "default") {
  auto& p = *req.mutable_parameters();
  p["csi.storage.k8s.io/pvc/name"] = pvcName;
  p["csi.storage.k8s.io/pvc/namespace"] = pvcNamespace;
  p["csi.storage.k8s.io/pv/name"] = req.name();
}

// The keys external-snapshotter v8.1.0 adds to every CreateSnapshot with
// --extra-create-metadata (pkg/sidecar-controller/snapshot_controller.go,
// createSnapshotWrapper): the VolumeSnapshot and its content.
inline void addSnapshotterMetadata(csi::v1::CreateSnapshotRequest& req,
                                   const std::string& snapshotName,
                                   const std::string& snapshotNamespace = "default") {
  auto& p = *req.mutable_parameters();
  p["csi.storage.k8s.io/volumesnapshot/name"] = snapshotName;
  p["csi.storage.k8s.io/volumesnapshot/namespace"] = snapshotNamespace;
  p["csi.storage.k8s.io/volumesnapshotcontent/name"] = req.name();
}

}  // namespace polycsi::testing
