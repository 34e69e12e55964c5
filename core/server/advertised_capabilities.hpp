// The one rule for the optional CSI capabilities polycsi advertises, shared by the identity,
// controller and node services (docs/plugin-sdk.md, "What the core advertises"):
//   - a capability is advertised when AT LEAST ONE configured backend has it (union), so adding
//     a backend never takes a capability away from the volumes of the others;
//   - a call that routes to a backend lacking it fails with an error naming that backend
//     (backendLacks below), never with a silent no-op;
//   - the exceptions are listing: LIST_VOLUMES (and LIST_VOLUMES_PUBLISHED_NODES) claims the
//     list is complete, so it is advertised only when EVERY backend can list; and the
//     controller's VOLUME_CONDITION, which CSI makes a promise about every volume (ListVolumes
//     entries and ControllerGetVolume "MUST" carry volume_condition with it), so it is
//     advertised only when EVERY backend can report conditions.
#pragma once

#include <string>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/plugin_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// What polycsi advertises for `backends`, by the rule above. Pure; safe from any thread once
// the registry is built.
struct AdvertisedCapabilities {
  bool createFromSnapshot = false;  // CREATE_DELETE_VOLUME with a snapshot source
  bool cloneVolume = false;         // CLONE_VOLUME
  bool listVolumes = false;         // LIST_VOLUMES, LIST_VOLUMES_PUBLISHED_NODES (every backend)
  bool controllerExpand = false;    // controller EXPAND_VOLUME, plugin VolumeExpansion ONLINE
  bool nodeExpand = false;          // node EXPAND_VOLUME
  bool getCapacity = false;         // GET_CAPACITY
  bool snapshots = false;           // CREATE_DELETE_SNAPSHOT, LIST_SNAPSHOTS, GET_SNAPSHOT
  bool volumeCondition = false;     // node VOLUME_CONDITION
  // MODIFY_VOLUME: a backend with a mutable parameter (server/mutable_parameters.hpp), its
  // plugin's own or the core's migrationTimeoutSeconds for a migration_window plugin.
  bool modifyVolume = false;
  // VOLUME_ACCESSIBILITY_CONSTRAINTS: a backend declares `topology:` (config/topology.hpp).
  bool accessibilityConstraints = false;
  // ---- since ABI 1.3: group snapshots ----
  // GROUP_CONTROLLER_SERVICE, CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT: snapshots and a declared
  // group snapshot consistency.
  bool groupSnapshots = false;
  // controller VOLUME_CONDITION (every backend; since ABI 1.3: volume health)
  bool controllerVolumeCondition = false;

  static AdvertisedCapabilities of(const plugin_host::BackendRegistry& backends);
};

// The error for a call routed to `backend`, which lacks what the call needs although another
// backend has it (so the capability is advertised): "<rpc>: backend '<name>' (plugin <p>) does
// not support <what>". `code` follows the CSI spec for that RPC (see the callers).
Status backendLacks(const plugin_host::ConfiguredBackend& backend, const std::string& rpc,
                    const std::string& what, Code code);

}  // namespace polycsi::server
