// polycsictl checkup: what each backend of a running polycsi driver supports, read from the
// GetPluginInfo manifest (core/server/identity_service.cc writes it), turned into advice: the
// Kubernetes access and volume modes, whether a KubeVirt VM can live-migrate and why, the PVC
// to use and the CDI StorageProfile claimPropertySets. Pure functions: thread-safe.
#pragma once

#include <google/protobuf/map.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace polycsi::csictl {

// One declared (CSI access mode, volume mode) pair of a backend.
struct DeclaredCapability {
  std::string accessMode;  // CSI name, e.g. "MULTI_NODE_MULTI_WRITER"
  std::string volumeMode;  // "block" or "filesystem"
  std::string semantics;   // "exclusive", "shared", "migration_window" or "unsupported"
  std::string reason;      // the plugin's reason when unsupported; may be empty
};

struct LiveMigrationVerdict {
  bool supported = false;
  std::string volumeMode;  // Kubernetes "Block" / "Filesystem" when supported
  std::string detail;      // "RWX Block, bounded window 300s default" or why not
};

struct BackendCheckup {
  std::string name;
  std::string plugin;
  std::string pluginVersion;
  bool isDefault = false;
  // The topology segment of the nodes that reach the backend (manifest backend/<name>/topology,
  // "key=value,..."); empty: every node.
  std::map<std::string, std::string> topology;
  // The StorageClass the PVC and StorageProfile name: "polycsi-<name>" unless the caller sets
  // another (polycsictl checkup --storage-class).
  std::string storageClass;
  std::vector<DeclaredCapability> capabilities;
  // What one group snapshot (VolumeGroupSnapshot) of the backend's volumes guarantees, from
  // manifest backend/<name>/group_snapshot_consistency: "none" (absent: no group snapshots),
  // "per volume in sequence" or "crash-consistent".
  std::string groupSnapshots = "none";
  // The parameters a VolumeAttributesClass may change on a live volume (ControllerModifyVolume),
  // from backend/<name>/mutable_parameters; empty when none.
  std::vector<std::string> mutableParameters;
  // Where the backend reports volume health (VOLUME_CONDITION), from
  // backend/<name>/volume_condition: ControllerGetVolume and ListVolumes, NodeGetVolumeStats.
  bool controllerVolumeCondition = false;
  bool nodeVolumeCondition = false;
  LiveMigrationVerdict liveMigration;
  // Set when the checkup answers for one StorageClass of the cluster (storage_class_checkup.hpp)
  // rather than for the backend: the class's own migration window (its
  // migrationTimeoutSeconds, else the driver's default), and why volumes of this class cannot
  // be created (empty when they can).
  bool fromStorageClass = false;
  int migrationTimeoutSeconds = 0;
  std::string problem;
};

struct DriverCheckup {
  std::string driverName;
  std::string driverVersion;
  int migrationTimeoutDefault = 0;  // seconds; 0 when the driver does not say
  int migrationTimeoutMin = 0;
  int migrationTimeoutMax = 0;
  std::vector<BackendCheckup> backends;  // sorted by name
};

// "key=value,key2=value2" of a backend's topology, or "any node" when it has none.
std::string formatTopology(const std::map<std::string, std::string>& topology);
// "controller, node", "controller", "node" or "none": where `backend` reports volume health.
std::string formatVolumeCondition(const BackendCheckup& backend);
// The mutable parameters comma-separated, or "none".
std::string formatMutableParameters(const BackendCheckup& backend);

// Reads the manifest of a GetPluginInfo answer. Throws std::runtime_error "driver <name> does
// not describe its backends; is it polycsi?" when no backend carries a capability matrix, and
// a message naming the key when an entry is malformed.
DriverCheckup parseCheckup(const std::string& driverName, const std::string& driverVersion,
                           const google::protobuf::Map<std::string, std::string>& manifest);

// The Kubernetes access modes ("ReadWriteOnce", ...) that reach a CSI access mode through the
// external-provisioner, or nullopt for CSI modes Kubernetes never asks for.
std::optional<std::string> kubernetesAccessMode(const std::string& csiAccessMode);

// A PersistentVolumeClaim of `size` (a Kubernetes quantity, e.g. "20Gi") for a VM disk on the
// backend's StorageClass: RWX in the migratable volume mode when the backend can live-migrate,
// otherwise RWO (Block preferred). Throws std::runtime_error when the backend supports neither.
nlohmann::ordered_json pvcFor(const BackendCheckup& backend, const std::string& size);

// The CDI StorageProfile named after the backend's StorageClass; its claimPropertySets list
// every supported RWX/RWO combination, the one that lets VMs live-migrate first.
nlohmann::ordered_json storageProfileFor(const BackendCheckup& backend);

// Whether a KubeVirt VM on `backend` can live-migrate and why, with the backend's own window
// when it answers for a StorageClass, else the driver's default and range.
LiveMigrationVerdict judgeLiveMigration(const DriverCheckup& driver, const BackendCheckup& backend);

// Whole report as JSON, for --json.
nlohmann::ordered_json checkupJson(const DriverCheckup& checkup, const std::string& size);

// Human report of one backend (modes table, verdict, PVC and StorageProfile as YAML).
std::string formatBackendCheckup(const DriverCheckup& checkup, const BackendCheckup& backend,
                                 const std::string& size);

// YAML text of a JSON value built from objects, arrays, strings, numbers and booleans; strings
// that YAML could read as something else are written double-quoted. Ends with a newline.
std::string toYaml(const nlohmann::ordered_json& value);

}  // namespace polycsi::csictl
