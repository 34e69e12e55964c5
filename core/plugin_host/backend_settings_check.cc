// The settings checks serve and validate-config share.
#include "plugin_host/backend_settings_check.hpp"

#include <algorithm>
#include <chrono>

#include "plugin_host/host_api.hpp"
#include "polycsi/plugin_client.hpp"

namespace polycsi::plugin_host {
namespace {

// check_settings reads at most a file a setting names; it never waits on a peer.
constexpr std::chrono::seconds kCheckTimeout{10};

}  // namespace

std::vector<std::string> checkBackendBeforeStart(const config::DriverConfig& config, size_t index,
                                                 const LoadedPlugin& plugin, Role role) {
  std::vector<std::string> problems =
      config::checkBackendSettings(config, index, plugin.descriptor(), role);
  // The plugin may rely on what the specs guarantee (init's contract), so it runs only after.
  if (!problems.empty()) return problems;
  const config::BackendConfig& backend = config.backends.at(index);
  InstanceConfig instanceConfig;
  instanceConfig.instanceName = backend.name;
  instanceConfig.role = role;
  instanceConfig.settings = backend.settings;
  instanceConfig.settingsJson = backend.settingsJson;
  instanceConfig.call.timeout = kCheckTimeout;
  Status status = PluginInstance::checkSettings(plugin.table(), instanceConfig);
  if (!status.isOk()) {
    auto secrets = config::secretValues(config, index, plugin.descriptor());
    // Longest first, so a secret that contains another is redacted whole.
    std::sort(secrets.begin(), secrets.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    problems.push_back("backends[" + std::to_string(index) +
                       "].settings: " + redactSecrets(status.message(), secrets));
  }
  return problems;
}

}  // namespace polycsi::plugin_host
