// polycsictl compare: the backends of a running polycsi driver side by side, one row each,
// answering the question a KubeVirt user asks first: which StorageClass can carry a VM that must
// live-migrate, and why. Built from the same DriverCheckup as `polycsictl checkup` (the
// driver's GetPluginInfo manifest), so the table follows the loaded plugins, never a static
// list. Pure functions: thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend_checkup.hpp"

namespace polycsi::csictl {

// One backend as the comparison shows it. Every text is plain ASCII so columns line up.
struct BackendComparison {
  std::string backend;
  std::string plugin;
  std::string storageClass;
  // formatTopology of the backend's segment ("any node" without one).
  std::string topology;
  // Kubernetes volume modes a ReadWriteOnce PVC may use: "Block, Filesystem", or "-".
  std::string readWriteOnce;
  // Volume modes a ReadWriteMany PVC may use, each with what it means for several nodes:
  // "Block (migration window)", "Filesystem (shared)", or "-".
  std::string readWriteMany;
  // The PVC a VM disk should use, access mode abbreviated: "RWX Block", "RWO Filesystem", or
  // "-" when no mode fits.
  std::string vmDisk;
  // What a second node asking for that VM disk gets: "refused", "allowed", or "during migration
  // window" (a third is always refused).
  std::string secondNode;
  bool liveMigration = false;
  // Why (or why not): LiveMigrationVerdict::detail.
  std::string why;
  // BackendCheckup::groupSnapshots: "none", "per volume in sequence" or "crash-consistent".
  std::string groupSnapshots;
  // BackendCheckup::mutableParameters (what a VolumeAttributesClass may change).
  std::vector<std::string> mutableParameters;
  // Where volume health is reported: BackendCheckup::controllerVolumeCondition, ...
  bool controllerVolumeCondition = false;
  bool nodeVolumeCondition = false;
};

// One row per backend, in the checkup's order (by backend name).
std::vector<BackendComparison> compareBackends(const DriverCheckup& checkup);

// The table with a header, then one "why" line per backend:
//   BACKEND  PLUGIN  RWO  RWX  VM DISK PVC  2ND NODE  LIVE MIGRATION  GROUP SNAPSHOT
//   VAC MUTABLE  HEALTH  [TOPOLOGY]
//   ...
// GROUP SNAPSHOT: none / per volume in sequence / crash-consistent; VAC MUTABLE: the
// parameters a VolumeAttributesClass may change, "-" for none; HEALTH: where volume conditions
// are reported (controller, node), "-" for nowhere.
//   why:
//     <backend> (StorageClass <class>): <detail>
std::string formatComparison(const DriverCheckup& checkup);

// {"driver", "version", "backends": [{backend, plugin, storageClass, topology, readWriteOnce,
// readWriteMany, vmDisk, secondNode, liveMigration, why, groupSnapshots, mutableParameters
// [names], volumeCondition {controller, node}}]}, for --json.
nlohmann::ordered_json comparisonJson(const DriverCheckup& checkup);

}  // namespace polycsi::csictl
