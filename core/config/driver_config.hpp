// The driver's configuration file: which plugins to load and which backend instances to run.
//
//   driver_name: polycsi.csi.io          # CSI driver name (optional, this default)
//   plugin_dir: /usr/lib/polycsi/plugins # optional; default ../plugins beside the executable
//   state_path: /var/lib/polycsi         # required; attachment store and per-backend state
//   backends:
//     - name: rds                        # [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?
//       plugin: rds_nvme                 # loads <plugin_dir>/polycsi_rds_nvme.so
//       default: true                    # at most one; used when a StorageClass names none
//       adopt_rds_csi_volumes: true      # at most one, rds_nvme only: serves the volume ids
//                                        # of rds-csi (docs/migrating-from-rds-csi.md)
//       topology:                        # optional: the nodes that reach it (config/topology.hpp)
//         topology.polycsi.io/rack: r1
//       settings: {...}                  # checked against the plugin's descriptor
//   node:                                # optional: the node process (config/node_profile.hpp)
//     topology_from_node_labels: false   # true: report the backends this Node's labels reach
//     max_volumes_per_node: 0            # NodeGetInfo.max_volumes_per_node; 0: no limit
//
// Errors name the key path, e.g. "backends[1].settings.address: required".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::config {

// The one plugin whose backends may adopt rds-csi's volumes.
inline constexpr char kRdsCsiAdopterPlugin[] = "rds_nvme";

struct BackendConfig {
  std::string name;
  std::string plugin;
  bool isDefault = false;
  // Volume ids of rds-csi's exact shape (volume/rds_csi_ids.hpp) route to this backend.
  bool adoptRdsCsiVolumes = false;
  // Scalar settings as text (YAML scalars; booleans and integers as written).
  StringMap settings;
  // Keys whose values are nested YAML (lists/maps); their value is in settingsJson only.
  std::vector<std::string> structuredKeys;
  // The whole settings map as JSON.
  std::string settingsJson = "{}";
  // The topology segment of the nodes that reach it (config/topology.hpp); empty: every node.
  StringMap topology;
};

// The `node:` section: how the node process describes itself in NodeGetInfo (docs/topology.md).
struct NodeSettings {
  // Report the segments of the backends whose topology this node's Node object's labels carry
  // (read through the Kubernetes API at start), instead of the union of every configured
  // backend's segment; one configuration and one DaemonSet then serve every rack.
  bool topologyFromNodeLabels = false;
  // NodeGetInfo.max_volumes_per_node: how many volumes of this driver kubelet and the scheduler
  // let one node hold; 0 is no limit (CSI). A node label may override it (config/node_profile.hpp).
  int64_t maxVolumesPerNode = 0;
};

struct DriverConfig {
  std::string driverName = "polycsi.csi.io";
  std::string pluginDir;  // empty: the caller applies the default
  std::string statePath;
  std::vector<BackendConfig> backends;
  NodeSettings node;

  // The backend named `name`, or nullptr.
  const BackendConfig* find(const std::string& name) const;
  // The backend with adopt_rds_csi_volumes: true, or nullptr.
  const BackendConfig* rdsCsiAdopter() const;
  // The backend marked default, or the only backend, or nullptr.
  const BackendConfig* defaultBackend() const;
};

// Parses and checks YAML text (structure, names, duplicates). INVALID_ARGUMENT whose message
// names the key path and what is wrong. Pure function; thread-safe.
StatusOr<DriverConfig> parseConfig(const std::string& yamlText);
// Reads and parses a file. INVALID_ARGUMENT whose message starts with the file's path, when it
// cannot be read or its content is refused (as parseConfig).
StatusOr<DriverConfig> loadConfigFile(const std::string& path);

// Checks backends[index].settings against a plugin's declared settings: keys required in
// `role` present (SettingSpec::requiredFor; kAll, serve's default, needs what either role
// needs), unknown keys refused, integers and booleans well-formed, structured values only for
// structured keys. Returns one message per problem ("backends[1].settings.address: required",
// "...: required for the controller"). Pure function; thread-safe.
std::vector<std::string> checkBackendSettings(const DriverConfig& config, size_t index,
                                              const Descriptor& descriptor, Role role = Role::kAll);

// The values of every setting the descriptor marks secret in backends[index].settings, for
// redaction in logs; for a structured secret setting, every scalar inside it. Empty values are
// left out.
std::vector<std::string> secretValues(const DriverConfig& config, size_t index,
                                      const Descriptor& descriptor);

}  // namespace polycsi::config
