// Tells the VolumeAttachment reconciler how a PersistentVolume may be shared: its backend, the
// plugin's semantics for the PV's access and volume mode, its migration window and its PVC.
#pragma once

#include "kube/event_recorder.hpp"
#include "kube/volume_attachment_reconciler.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

// The resolver for `driver`'s backends; the driver (and `events`, when given) must outlive it.
// A PV whose recorded migration window is outside 30-3600 s (hand-edited: CreateVolume refuses
// such a StorageClass) gets the default window, as ControllerPublishVolume gives it, and a
// Warning event InvalidMigrationTimeout naming the PV on its claim. With a Kubernetes API, the
// migrationTimeoutSeconds of the PV's VolumeAttributesClass wins over the recorded window
// (server/volume_attributes_class.hpp); an API error reading it is returned.
kube::PolicyResolver makePvPolicyResolver(const DriverContext& driver,
                                          kube::EventRecorder* events = nullptr);

}  // namespace polycsi::server
