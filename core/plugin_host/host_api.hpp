// The host services (polycsi_host_api) one backend instance receives: logging through spdlog
// attributed to the backend, and metrics forwarded to the PluginMetricsSink under the plugin's
// metrics prefix. Internal to core/plugin_host.
#pragma once

#include <string>
#include <vector>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/plugin_abi.h"

namespace polycsi::plugin_host {

// What the callbacks of one backend's host API need. OWNERSHIP: owned by the ConfiguredBackend;
// must outlive the plugin instance. Immutable once the instance is created, so the callbacks may
// run on any thread without locking.
struct HostServices {
  std::string backendName;
  std::string metricsPrefix;
  // Setting values that must never appear in logs; replaced by "***" in plugin log lines.
  std::vector<std::string> secrets;
  PluginMetricsSink* metrics = nullptr;  // not owned; null: metrics are dropped
};

// A host API table whose host_ctx is `services`. The table holds no other state; `services`
// must outlive every use of it.
polycsi_host_api makeHostApi(HostServices* services);

// `text` with every occurrence of each non-empty secret replaced by "***".
std::string redactSecrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace polycsi::plugin_host
