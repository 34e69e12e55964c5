// The running backend instances: one per `backends[]` entry in the config, each a plugin
// instance created through the plugin's init with its settings.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/driver_config.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "polycsi/plugin_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::plugin_host {

// Where plugins' metrics go (core/observe implements it). Names arrive already prefixed with
// the plugin's metrics prefix. THREADING: called from any thread.
class PluginMetricsSink {
 public:
  virtual ~PluginMetricsSink() = default;
  virtual void gaugeSet(const std::string& name, const StringMap& labels, double value) = 0;
  virtual void counterAdd(const std::string& name, const StringMap& labels, double delta) = 0;
};

// One entry of the configuration's backends[] at run time: a loaded plugin's live instance,
// with the name and settings it was configured with. Not polycsi::Backend of the SDK (the
// class a plugin implements): this is the host's handle on one instance of it.
// OWNERSHIP: owned by BackendRegistry; lives until the registry is destroyed.
class ConfiguredBackend {
 public:
  // Out of line: HostContext is complete only in backend_registry.cc.
  ~ConfiguredBackend();

  const std::string& name() const { return name_; }
  const LoadedPlugin& plugin() const { return *plugin_; }
  const Descriptor& descriptor() const { return plugin_->descriptor(); }
  PluginFeatures features() const { return plugin_->features(); }
  const PluginInstance& instance() const { return *instance_; }
  // True when the config gave it adopt_rds_csi_volumes: bare rds-csi volume ids are its.
  bool adoptsRdsCsiVolumes() const { return adoptsRdsCsiVolumes_; }
  // The topology segment of the nodes that reach it (config `topology:`); empty: every node.
  const StringMap& topology() const { return topology_; }

 private:
  friend class BackendRegistry;
  struct HostContext;  // what polycsi_host_api.host_ctx points to
  std::string name_;
  bool adoptsRdsCsiVolumes_ = false;
  StringMap topology_;
  std::shared_ptr<LoadedPlugin> plugin_;
  std::unique_ptr<HostContext> hostContext_;
  std::unique_ptr<polycsi_host_api> hostApi_;
  std::unique_ptr<PluginInstance> instance_;  // destroyed first (declared last)
};

class BackendRegistry {
 public:
  BackendRegistry() = default;
  ~BackendRegistry();
  BackendRegistry(const BackendRegistry&) = delete;
  BackendRegistry& operator=(const BackendRegistry&) = delete;

  // Loads every backend's plugin from pluginDir (each file once), checks its settings for
  // `role` (checkBackendBeforeStart: the descriptor's specs, then the plugin's check_settings)
  // before any backend starts, creates <statePath>/backends/<name>/ and
  // inits the instance. On any failure nothing stays started and the Status names the
  // backend, e.g. "backends[1] (rds): settings.address: required".
  Status start(const config::DriverConfig& config, const std::string& pluginDir, Role role,
               PluginMetricsSink* metrics);

  // The backend named `name`, or nullptr.
  const ConfiguredBackend* find(const std::string& name) const;
  // The default backend (config's default, or the only one), or nullptr.
  const ConfiguredBackend* defaultBackend() const;
  // The backend serving rds-csi's volume ids (adopt_rds_csi_volumes), or nullptr.
  const ConfiguredBackend* rdsCsiAdopter() const;
  // All backends in config order.
  std::vector<const ConfiguredBackend*> all() const;

 private:
  // Creates the state directory of config.backends[index] and inits its instance of `plugin`.
  // The Status names the backend.
  static StatusOr<std::unique_ptr<ConfiguredBackend>> startBackend(
      const config::DriverConfig& config, size_t index, std::shared_ptr<LoadedPlugin> plugin,
      Role role, PluginMetricsSink* metrics);

  std::vector<std::unique_ptr<ConfiguredBackend>> backends_;
  std::string defaultName_;
};

}  // namespace polycsi::plugin_host
