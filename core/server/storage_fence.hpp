// Closing a node's access to a volume at the storage layer (the plugin's unpublish: the RDS
// allow-list of host NQNs, the PowerStore host mapping), for ControllerUnpublishVolume and for
// the VolumeAttachment reconciler, so both make exactly the same plugin call.
#pragma once

#include <string>

#include "kube/volume_attachment_reconciler.hpp"
#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

// Asks `backend`'s plugin to unpublish its volume `localId` from CSI node id `nodeId` (the
// node's name and this plugin's identity from it; a node id that does not decode is taken as a
// bare node name). OK when the fence is closed or the volume no longer exists (nothing left to
// fence); the plugin's error otherwise. Idempotent as the plugin's unpublish is.
// THREADING: as the plugin instance allows (plugins serve calls concurrently).
Status closeStorageFence(const plugin_host::ConfiguredBackend& backend, const Call& call,
                         const std::string& localId, const std::string& nodeId,
                         const StringMap& secrets);

// The reconciler's fencer for `driver`'s backends: routes the volume id to its backend and
// closes the fence with closeStorageFence, with the time an RPC without deadline gets
// (2 minutes), cancelled at the driver's shutdown. A volume whose backend this driver does not run
// (or an id that is not polycsi's) is FAILED_PRECONDITION: its fence cannot be closed from
// here, so its attachment must stay recorded. `driver` must outlive the fencer.
kube::Fencer makeBackendFencer(DriverContext& driver);

}  // namespace polycsi::server
