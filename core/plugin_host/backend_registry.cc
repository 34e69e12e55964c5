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
void stopAll(std::vector<std::unique_ptr<Backend>>& backends) {
  while (!backends.empty()) backends.pop_back();
}

}  // namespace

struct Backend::HostContext : HostServices {};

// Members go in reverse order: the instance shuts down while its host services still exist.
Backend::~Backend() = default;

BackendRegistry::~BackendRegistry() { stopAll(backends_); }

Status BackendRegistry::start(const config::DriverConfig& config, const std::string& pluginDir,
                              Role role, PluginMetricsSink* metrics) {
  if (!backends_.empty()) return Status(Code::kFailedPrecondition, "backends are already started");
  if (config.statePath.empty())
    return Status(Code::kFailedPrecondition,
                  "state_path is empty: backends need a state directory");

  // First load every plugin and check every backend's settings (the checks validate-config
  // runs), so a configuration mistake is reported before any backend reaches its storage system.
  std::map<std::string, std::shared_ptr<LoadedPlugin>> plugins;
  std::vector<std::shared_ptr<LoadedPlugin>> pluginOf;
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const config::BackendConfig& backend = config.backends[i];
    auto it = plugins.find(backend.plugin);
    if (it == plugins.end()) {
      auto loaded = loadPlugin(pluginPath(pluginDir, backend.plugin));
      if (!loaded.isOk())
        return Status(loaded.status().code(),
                      backendLabel(i, backend.name) + ": " + loaded.status().message());
      it = plugins.emplace(backend.plugin, *loaded).first;
    }
    auto problems = checkBackendBeforeStart(config, i, *it->second, role);
    if (!problems.empty())
      return Status(Code::kFailedPrecondition, settingsProblems(problems, i, backend.name));
    pluginOf.push_back(it->second);
  }

  std::vector<std::unique_ptr<Backend>> started;
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const config::BackendConfig& backendConfig = config.backends[i];
    const std::string label = backendLabel(i, backendConfig.name);
    const fs::path stateDir = fs::path(config.statePath) / "backends" / backendConfig.name;
    std::error_code ec;
    fs::create_directories(stateDir, ec);
    if (ec) {
      stopAll(started);
      return Status(Code::kFailedPrecondition, label + ": cannot create state directory " +
                                                   stateDir.string() + ": " + ec.message());
    }

    auto backend = std::make_unique<Backend>();
    backend->name_ = backendConfig.name;
    backend->adoptsRdsCsiVolumes_ = backendConfig.adoptRdsCsiVolumes;
    backend->plugin_ = pluginOf[i];
    backend->hostContext_ = std::make_unique<Backend::HostContext>();
    backend->hostContext_->backendName = backendConfig.name;
    backend->hostContext_->metricsPrefix = backend->plugin_->descriptor().metricsPrefix;
    backend->hostContext_->metrics = metrics;
    auto secrets = config::secretValues(config, i, backend->plugin_->descriptor());
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
      stopAll(started);
      // A plugin refusing its settings may quote one, and the global log redactor learns the
      // secrets only after every backend has started.
      return Status(instance.status().code(),
                    label + ": " +
                        redactSecrets(instance.status().message(), backend->hostContext_->secrets));
    }
    backend->instance_ = std::move(*instance);
    spdlog::info("backend {} started: plugin {} {} (ABI {}) from {}", backend->name_,
                 backend->descriptor().name, backend->descriptor().version,
                 backend->plugin_->abiVersion(), backend->plugin_->path());
    started.push_back(std::move(backend));
  }

  backends_ = std::move(started);
  const config::BackendConfig* defaultBackend = config.defaultBackend();
  defaultName_ = defaultBackend != nullptr ? defaultBackend->name : std::string();
  return Status::ok();
}

const Backend* BackendRegistry::find(const std::string& name) const {
  for (const auto& backend : backends_)
    if (backend->name() == name) return backend.get();
  return nullptr;
}

const Backend* BackendRegistry::rdsCsiAdopter() const {
  for (const auto& backend : backends_)
    if (backend->adoptsRdsCsiVolumes()) return backend.get();
  return nullptr;
}

const Backend* BackendRegistry::defaultBackend() const {
  return defaultName_.empty() ? nullptr : find(defaultName_);
}

std::vector<const Backend*> BackendRegistry::all() const {
  std::vector<const Backend*> out;
  out.reserve(backends_.size());
  for (const auto& backend : backends_) out.push_back(backend.get());
  return out;
}

}  // namespace polycsi::plugin_host
