// A plugin's snapshot as CSI sees it: ids carry the backend, and a member of a group snapshot
// names its group (csi.v1.Snapshot.group_snapshot_id).
#pragma once

#include "csi.pb.h"
#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// INTERNAL when the plugin returned an id that is not a valid local id. Pure.
StatusOr<csi::v1::Snapshot> toCsiSnapshot(const plugin_host::ConfiguredBackend& backend,
                                          const Snapshot& snapshot);

}  // namespace polycsi::server
