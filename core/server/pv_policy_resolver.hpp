// Tells the VolumeAttachment reconciler how a PersistentVolume may be shared: its backend, the
// plugin's semantics for the PV's access and volume mode, its migration window and its PVC.
#pragma once

#include "kube/volume_attachment_reconciler.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

// The resolver for `driver`'s backends; the driver must outlive it.
kube::PolicyResolver makePvPolicyResolver(const DriverContext& driver);

}  // namespace polycsi::server
