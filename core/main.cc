// polycsi: the CSI driver executable.
//   polycsi serve --config FILE --endpoint unix:///PATH --node-id NAME [--mode all|controller|node]
//   polycsi validate-config FILE [--mode all|controller|node]
//   polycsi plugins [--plugin-dir DIR]        (exit 1 when any plugin there is refused)
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <map>
#include <thread>

#include "config/driver_config.hpp"
#include "config/topology.hpp"
#include "observe/logging.hpp"
#include "plugin_host/backend_settings_check.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "server/driver_server.hpp"

#ifndef POLYCSI_VERSION
#define POLYCSI_VERSION "0.0.0"
#endif

namespace {

using namespace polycsi;

int serve(const server::ServeOptions& options) {
  // Signals are taken by one thread with sigwait, so no handler runs inside gRPC's threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = server::DriverServer::start(options);
  if (!server.isOk()) {
    spdlog::error("cannot start: {}", server.status().toString());
    return 1;
  }
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    spdlog::info("received signal {}", signal);
    (*server)->shutdown();
  });
  (*server)->wait();
  // Wake the stopper if the server ended for another reason.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  return 0;
}

StatusOr<std::string> pluginDirFor(const config::DriverConfig& config,
                                   const std::string& override) {
  if (!override.empty()) return override;
  if (!config.pluginDir.empty()) return config.pluginDir;
  return plugin_host::defaultPluginDir();
}

// Runs every check serve runs before it connects anywhere, for a process serving `role`.
int validateConfig(const std::string& path, const std::string& pluginDirOverride, Role role) {
  auto loaded = config::loadConfigFile(path);
  if (!loaded.isOk()) {
    std::cerr << loaded.status().message() << "\n";
    return 1;
  }
  const config::DriverConfig& config = *loaded;
  auto pluginDir = pluginDirFor(config, pluginDirOverride);
  if (!pluginDir.isOk()) {
    std::cerr << pluginDir.status().message() << "\n";
    return 1;
  }
  const std::string& dir = *pluginDir;
  int problems = 0;
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const auto& backend = config.backends[i];
    auto plugin = plugin_host::loadPlugin(plugin_host::pluginPath(dir, backend.plugin));
    if (!plugin.isOk()) {
      std::cerr << "backends[" << i << "].plugin: " << plugin.status().message() << "\n";
      ++problems;
      continue;
    }
    for (const auto& problem : plugin_host::checkBackendBeforeStart(config, i, **plugin, role)) {
      std::cerr << problem << "\n";
      ++problems;
    }
  }
  // With node.topology_from_node_labels the node's labels, read at start, choose its backends.
  if (role != Role::kController && !config.node.topologyFromNodeLabels) {
    if (auto topology = config::nodeTopology(config); !topology.isOk()) {
      std::cerr << topology.status().message() << "\n";
      ++problems;
    }
  }
  if (problems > 0) return 1;
  std::cout << path << ": valid (" << config.backends.size() << " backend"
            << (config.backends.size() == 1 ? "" : "s") << ")\n";
  return 0;
}

int listPlugins(const std::string& dir) {
  auto found = plugin_host::discoverPlugins(dir);
  if (found.empty()) {
    std::cout << "no plugins in " << dir << "\n";
    return 1;
  }
  int refused = 0;
  for (const auto& p : found) {
    if (!p.plugin) {
      std::cout << "REFUSED " << p.error << "\n";
      ++refused;
      continue;
    }
    const auto& d = p.plugin->descriptor();
    std::cout << d.name << " " << d.version << "  (ABI " << p.plugin->abiVersion() << ", " << p.path
              << ")\n  " << d.description << "\n  metrics prefix: " << d.metricsPrefix << "\n";
    for (const auto& c : d.capabilities) {
      std::printf("    %-26s %-10s %s%s%s\n", accessModeName(c.accessMode),
                  volumeModeName(c.volumeMode), semanticsName(c.semantics),
                  c.reason.empty() ? "" : " — ", c.reason.c_str());
    }
    auto f = p.plugin->features();
    std::cout << "  features:" << (f.snapshots ? " snapshots" : "")
              << (f.cloneVolume ? " clone" : "") << (f.restoreSnapshot ? " restore" : "")
              << (f.expandVolume ? " expand" : "") << (f.getCapacity ? " capacity" : "")
              << (f.listVolumes ? " list" : "") << (f.fencing ? " fencing" : "")
              << (f.nodeExpand ? " node-expand" : "")
              << (f.volumeCondition ? " volume-condition" : "")
              << (f.controllerVolumeCondition ? " controller-volume-condition" : "")
              << (f.groupSnapshotCall ? " group-snapshot-call" : "") << "\n";
    if (f.snapshots && d.groupSnapshotConsistency != GroupConsistency::kNone)
      std::cout << "  group snapshots: " << groupConsistencyName(d.groupSnapshotConsistency)
                << "\n";
    // What a VolumeAttributesClass may change (the core adds migrationTimeoutSeconds for a
    // plugin with a migration window).
    std::string mutableNames;
    for (const auto& spec : d.parameters)
      if (spec.isMutable) mutableNames += (mutableNames.empty() ? "" : ", ") + spec.name;
    if (!mutableNames.empty()) std::cout << "  mutable parameters: " << mutableNames << "\n";
  }
  // A directory holding a plugin the host refuses is a broken installation.
  return refused > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"polycsi: a CSI driver whose storage backends are plugins"};
  app.require_subcommand(1);
  std::string logLevel = "info";
  app.add_option("--log-level", logLevel, "debug, info, warn or error")->capture_default_str();
  app.set_version_flag("--version", POLYCSI_VERSION);

  server::ServeOptions serveOptions;
  serveOptions.version = POLYCSI_VERSION;
  std::string mode = "all";
  auto* serveCmd = app.add_subcommand("serve", "Serve CSI on a unix socket");
  serveCmd->add_option("--config", serveOptions.configPath, "Configuration file")
      ->required()
      ->check(CLI::ExistingFile);
  serveCmd->add_option("--endpoint", serveOptions.endpoint, "unix:///path/csi.sock")->required();
  serveCmd->add_option("--node-id", serveOptions.nodeId, "Kubernetes node name of this host");
  serveCmd->add_option("--mode", mode, "all, controller or node")
      ->check(CLI::IsMember({"all", "controller", "node"}))
      ->capture_default_str();
  serveCmd->add_option("--metrics-address", serveOptions.metricsAddress,
                       "host:port for /metrics and /healthz (off when empty)");
  serveCmd->add_option("--plugin-dir", serveOptions.pluginDir, "Overrides plugin_dir");
  serveCmd->add_option("--kubernetes-api", serveOptions.kubeApi,
                       "API server URL when running outside the cluster");
  serveCmd->add_option("--kubernetes-token-file", serveOptions.kubeTokenFile,
                       "Bearer token file for --kubernetes-api");
  serveCmd->add_option("--kubernetes-ca-file", serveOptions.kubeCaFile,
                       "CA bundle for --kubernetes-api");
  serveCmd
      ->add_option("--volume-attachment-resync", serveOptions.reconcilePeriodSeconds,
                   "Seconds between VolumeAttachment reconciliation passes (the first runs at "
                   "start; publishes wait for it)")
      ->check(CLI::Range(5, 86400))
      ->capture_default_str();
  serveCmd->add_flag("--leader-election", serveOptions.leaderElection,
                     "Two or more controller replicas: change attachments only while this pod's "
                     "csi-attacher holds its leader lease, after rebuilding them");
  serveCmd->add_option("--leader-election-namespace", serveOptions.leaderElectionNamespace,
                       "Namespace of the attacher's lease (default: POD_NAMESPACE, then the "
                       "service account's namespace)");
  serveCmd->add_option("--leader-election-identity", serveOptions.leaderElectionIdentity,
                       "The attacher's identity in its lease (default: this host's name, "
                       "sanitized as the sidecars do)");

  std::string validatePath, pluginDir, validateMode = "all";
  auto* validateCmd = app.add_subcommand(
      "validate-config", "Check a configuration file as serve would before it connects anywhere");
  validateCmd->add_option("file", validatePath, "Configuration file")->required();
  validateCmd->add_option("--plugin-dir", pluginDir, "Overrides plugin_dir");
  validateCmd->add_option("--mode", validateMode, "Check for serve's mode: all, controller or node")
      ->check(CLI::IsMember({"all", "controller", "node"}))
      ->capture_default_str();

  const StatusOr<std::string> defaultPluginDir = plugin_host::defaultPluginDir();
  auto* pluginsCmd = app.add_subcommand("plugins", "List loadable plugins");
  pluginsCmd->add_option("--plugin-dir", pluginDir, "Directory to list")
      ->default_str(defaultPluginDir.isOk() ? *defaultPluginDir : "../plugins beside polycsi");

  CLI11_PARSE(app, argc, argv);
  if (Status logging = observe::setupLogging(logLevel); !logging.isOk()) {
    std::cerr << logging.message() << "\n";
    return 2;
  }
  if (*serveCmd) {
    serveOptions.mode = mode == "controller" ? server::DriverMode::kController
                        : mode == "node"     ? server::DriverMode::kNode
                                             : server::DriverMode::kAll;
    return serve(serveOptions);
  }
  if (*validateCmd) {
    const Role role = validateMode == "controller" ? Role::kController
                      : validateMode == "node"     ? Role::kNode
                                                   : Role::kAll;
    return validateConfig(validatePath, pluginDir, role);
  }
  if (!pluginDir.empty()) return listPlugins(pluginDir);
  if (!defaultPluginDir.isOk()) {
    std::cerr << defaultPluginDir.status().message() << "\n";
    return 1;
  }
  return listPlugins(*defaultPluginDir);
}
