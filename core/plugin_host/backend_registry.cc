// Starting and holding the configured backend instances.
#include "plugin_host/backend_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <utility>

#include "plugin_host/backend_settings_check.hpp"
#include "plugin_host/host_api.hpp"

namespace polycsi::plugin_host {
namespace {

namespace fs = std::filesystem;

// init may reach out to the storage system (SSH, REST) before it answers.
constexpr std::chrono::seconds kInitTimeout{60};

std::string backendLabel(size_t index, const std::string& name) {
  return "backends[" + std::to_string(index) + "] (" + name + ")";
}

// "backends[1].settings.x: required" -> "backends[1] (rds): settings.x: required", joined.
std::string settingsProblems(const std::vector<std::string>& problems, size_t index,
                             const std::string& name) {
  const std::string rawPrefix = "backends[" + std::to_string(index) + "].";
  std::string out;
  for (const auto& problem : problems) {
    if (!out.empty()) out += "; ";
    out += backendLabel(index, name) + ": " +
           (problem.starts_with(rawPrefix) ? problem.substr(rawPrefix.size()) : problem);
  }
  return out;
}

// Shuts instances down in reverse start order, so later backends never outlive earlier ones.
void stopAll(std::vector<std::unique_ptr<ConfiguredBackend>>& backends) {
  while (!backends.empty()) backends.pop_back();
}

// Every backend's plugin (each file loaded once), in config order, with every backend's
// settings checked against its plugin's descriptor: a configuration mistake is reported before
// any backend reaches its storage system.
StatusOr<std::vector<std::shared_ptr<LoadedPlugin>>> loadAndCheckPlugins(
    const config::DriverConfig& config, const std::string& pluginDir, Role role) {
  std::map<std::string, std::shared_ptr<LoadedPlugin>> byName;
  std::vector<std::shared_ptr<LoadedPlugin>> pluginOf;
  for (size_t index = 0; index < config.backends.size(); ++index) {
    const config::BackendConfig& backend = config.backends[index];
    auto known = byName.find(backend.plugin);
    if (known == byName.end()) {
      auto loaded = loadPlugin(pluginPath(pluginDir, backend.plugin));
      if (!loaded.isOk())
        return Status(loaded.status().code(),
                      backendLabel(index, backend.name) + ": " + loaded.status().message());
      known = byName.emplace(backend.plugin, *loaded).first;
    }
    auto problems = checkBackendBeforeStart(config, index, *known->second, role);
    if (!problems.empty())
      return Status(Code::kFailedPrecondition, settingsProblems(problems, index, backend.name));
    pluginOf.push_back(known->second);
  }
  return pluginOf;
}

}  // namespace

struct ConfiguredBackend::HostContext : HostServices {};

// Members go in reverse order: the instance shuts down while its host services still exist.
ConfiguredBackend::~ConfiguredBackend() = default;

BackendRegistry::~BackendRegistry() { stopAll(backends_); }

Status BackendRegistry::start(const config::DriverConfig& config, const std::string& pluginDir,
                              Role role, PluginMetricsSink* metrics) {
  if (!backends_.empty()) return Status(Code::kFailedPrecondition, "backends are already started");
  if (config.statePath.empty())
    return Status(Code::kFailedPrecondition,
                  "state_path is empty: backends need a state directory");

  // First load every plugin and check every backend's settings (the checks validate-config
  // runs), so a configuration mistake is reported before any backend reaches its storage system.
  auto plugins = loadAndCheckPlugins(config, pluginDir, role);
  if (!plugins.isOk()) return plugins.status();

  std::vector<std::unique_ptr<ConfiguredBackend>> started;
  for (size_t index = 0; index < config.backends.size(); ++index) {
    auto backend = startBackend(config, index, (*plugins)[index], role, metrics);
    if (!backend.isOk()) {
      stopAll(started);
      return backend.status();
    }
    started.push_back(std::move(*backend));
  }

  backends_ = std::move(started);
  const config::BackendConfig* defaultBackend = config.defaultBackend();
  defaultName_ = defaultBackend != nullptr ? defaultBackend->name : std::string();
  return Status::ok();
}

StatusOr<std::unique_ptr<ConfiguredBackend>> BackendRegistry::startBackend(
    const config::DriverConfig& config, size_t index, std::shared_ptr<LoadedPlugin> plugin,
    Role role, PluginMetricsSink* metrics) {
  const config::BackendConfig& backendConfig = config.backends[index];
  const std::string label = backendLabel(index, backendConfig.name);
  const fs::path stateDir = fs::path(config.statePath) / "backends" / backendConfig.name;
  std::error_code error;
  fs::create_directories(stateDir, error);
  if (error) {
    return Status(Code::kFailedPrecondition, label + ": cannot create state directory " +
                                                 stateDir.string() + ": " + error.message());
  }

  auto backend = std::make_unique<ConfiguredBackend>();
  backend->name_ = backendConfig.name;
  backend->adoptsRdsCsiVolumes_ = backendConfig.adoptRdsCsiVolumes;
  backend->topology_ = backendConfig.topology;
  backend->plugin_ = std::move(plugin);
  backend->hostContext_ = std::make_unique<ConfiguredBackend::HostContext>();
  backend->hostContext_->backendName = backendConfig.name;
  backend->hostContext_->metricsPrefix = backend->plugin_->descriptor().metricsPrefix;
  backend->hostContext_->metrics = metrics;
  auto secrets = config::secretValues(config, index, backend->plugin_->descriptor());
  // Longest first, so a secret that contains another is redacted whole.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  backend->hostContext_->secrets = std::move(secrets);
  backend->hostApi_ = std::make_unique<polycsi_host_api>(
      makeHostApi(static_cast<HostServices*>(backend->hostContext_.get())));

  InstanceConfig instanceConfig;
  instanceConfig.instanceName = backendConfig.name;
  instanceConfig.role = role;
  instanceConfig.settings = backendConfig.settings;
  instanceConfig.settingsJson = backendConfig.settingsJson;
  instanceConfig.stateDir = stateDir.string();
  instanceConfig.call.timeout = kInitTimeout;
  auto instance =
      PluginInstance::create(backend->plugin_->table(), backend->hostApi_.get(), instanceConfig);
  if (!instance.isOk()) {
    // A plugin refusing its settings may quote one, and the global log redactor learns the
    // secrets only after every backend has started.
    return Status(
        instance.status().code(),
        label + ": " + redactSecrets(instance.status().message(), backend->hostContext_->secrets));
  }
  backend->instance_ = std::move(*instance);
  spdlog::info("backend {} started: plugin {} {} (ABI {}) from {}", backend->name_,
               backend->descriptor().name, backend->descriptor().version,
               backend->plugin_->abiVersion(), backend->plugin_->path());
  return backend;
}

const ConfiguredBackend* BackendRegistry::find(const std::string& name) const {
  for (const auto& backend : backends_)
    if (backend->name() == name) return backend.get();
  return nullptr;
}

const ConfiguredBackend* BackendRegistry::rdsCsiAdopter() const {
  for (const auto& backend : backends_)
    if (backend->adoptsRdsCsiVolumes()) return backend.get();
  return nullptr;
}

const ConfiguredBackend* BackendRegistry::defaultBackend() const {
  return defaultName_.empty() ? nullptr : find(defaultName_);
}

std::vector<const ConfiguredBackend*> BackendRegistry::all() const {
  std::vector<const ConfiguredBackend*> out;
  out.reserve(backends_.size());
  for (const auto& backend : backends_) out.push_back(backend.get());
  return out;
}

}  // namespace polycsi::plugin_host
