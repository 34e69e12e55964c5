#include "server/driver_server.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "attach/attachment_store.hpp"
#include "attach/migration_window_watcher.hpp"
#include "config/node_profile.hpp"
#include "config/topology.hpp"
#include "kube/controller_leadership.hpp"
#include "kube/event_recorder.hpp"
#include "kube/kube_client.hpp"
#include "kube/node_labels.hpp"
#include "kube/volume_attachment_reconciler.hpp"
#include "observe/http_endpoint.hpp"
#include "observe/leader_only_observer.hpp"
#include "observe/logging.hpp"
#include "observe/metrics_observer.hpp"
#include "observe/observer_fanout.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "server/advertised_capabilities.hpp"
#include "server/controller_service.hpp"
#include "server/group_controller_service.hpp"
#include "server/identity_service.hpp"
#include "server/node_service.hpp"
#include "server/pv_policy_resolver.hpp"
#include "server/storage_fence.hpp"

namespace polycsi::server {

// Everything a running driver holds. Members are destroyed in reverse order of declaration,
// each before what it uses, so a start that fails half-way stops what it started.
struct ServerComponents {
  DriverContext driver;
  std::unique_ptr<observe::ObserverFanout> observers;
  std::unique_ptr<observe::MigrationMetrics> migrationMetrics;
  std::unique_ptr<observe::LeaderOnlyObserver> gatedMetrics;  // migrationMetrics, leader only
  std::unique_ptr<observe::LeaderOnlyObserver> gatedEvents;   // events, leader only
  std::unique_ptr<attach::AttachmentStore> store;
  std::unique_ptr<attach::AttachmentManager> attachments;
  std::unique_ptr<kube::KubeClient> kube;
  std::unique_ptr<kube::EventRecorder> events;
  std::unique_ptr<kube::VolumeAttachmentReconciler> reconciler;
  // Uses the reconciler, so it is declared after it (destroyed first).
  std::unique_ptr<kube::ControllerLeadership> leadership;
  // After everything its reports reach, so it stops first if a failed start unwinds.
  std::unique_ptr<attach::MigrationWindowWatcher> windowWatcher;
  std::unique_ptr<observe::HttpEndpoint> http;
  std::unique_ptr<IdentityService> identity;
  std::unique_ptr<ControllerService> controller;
  std::unique_ptr<GroupControllerService> groupController;
  std::unique_ptr<NodeService> node;
  std::unique_ptr<grpc::Server> grpc;
  std::string socketPath;
  std::once_flag stopOnce;
};

StatusOr<std::string> socketPathOf(const std::string& endpoint) {
  std::string path;
  if (endpoint.rfind("unix://", 0) == 0)
    path = endpoint.substr(7);
  else if (endpoint.rfind("unix:", 0) == 0)
    path = endpoint.substr(5);
  else
    return Status(
        Code::kInvalidArgument,
        "--endpoint must be a unix socket (unix:///path/csi.sock), got '" + endpoint + "'");
  if (path.empty() || path.front() != '/' || path.size() > 100)
    return Status(Code::kInvalidArgument,
                  "--endpoint must name an absolute socket path of at most 100 bytes");
  return path;
}

namespace {

// Removes a socket left by an earlier run. Anything else at the path (a symlink, a regular file,
// a directory) is refused, never followed or deleted: the endpoint may be misconfigured to
// point at something that matters.
Status removeStaleSocket(const std::string& path) {
  struct stat existing {};
  if (::lstat(path.c_str(), &existing) != 0) {
    if (errno == ENOENT) return Status::ok();
    return Status(Code::kFailedPrecondition,
                  "cannot inspect the CSI socket path " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(existing.st_mode)) {
    const char* what = S_ISLNK(existing.st_mode)   ? "a symlink"
                       : S_ISREG(existing.st_mode) ? "a regular file"
                       : S_ISDIR(existing.st_mode) ? "a directory"
                                                   : "not a socket";
    return Status(Code::kFailedPrecondition,
                  "--endpoint " + path + " exists and is " + what +
                      "; refusing to replace it (remove it, or choose another path)");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return Status(Code::kFailedPrecondition,
                  "cannot remove the stale CSI socket " + path + ": " + std::strerror(errno));
  return Status::ok();
}

Role roleOf(DriverMode mode) {
  switch (mode) {
    case DriverMode::kController:
      return Role::kController;
    case DriverMode::kNode:
      return Role::kNode;
    case DriverMode::kAll:
      break;
  }
  return Role::kAll;
}

// Every secret setting's value goes to the log redactor before anything else can log it.
void registerSecrets(const config::DriverConfig& config,
                     const plugin_host::BackendRegistry& backends) {
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const auto* backend = backends.find(config.backends[i].name);
    if (backend == nullptr) continue;
    for (const auto& value : config::secretValues(config, i, backend->descriptor()))
      observe::globalRedactor().addSecret(value);
  }
}

// --kubernetes-api with a token file: the controller runs outside the cluster.
StatusOr<kube::KubeConfig> explicitKubeConfig(const ServeOptions& options) {
  if (options.kubeTokenFile.empty())
    return Status(Code::kInvalidArgument,
                  "--kubernetes-token-file is required with --kubernetes-api");
  std::ifstream in(options.kubeTokenFile);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty())
    return Status(Code::kInvalidArgument,
                  "--kubernetes-token-file " + options.kubeTokenFile + " has no token");
  observe::globalRedactor().addSecret(token);
  kube::KubeConfig config;
  config.baseUrl = options.kubeApi;
  config.token = token;
  config.tokenFile = options.kubeTokenFile;
  config.caFile = options.kubeCaFile;
  return config;
}

// The driver's identity and configuration, the CSI socket path and the state directory.
Status configure(const ServeOptions& options, ServerComponents& components) {
  DriverContext& driver = components.driver;
  driver.mode = options.mode;
  driver.nodeName = options.nodeId;
  driver.version = options.version;
  if (driver.servesNode() && driver.nodeName.empty())
    return Status(Code::kInvalidArgument, "--node-id is required in node and all modes");

  auto config = config::loadConfigFile(options.configPath);
  if (!config.isOk()) return config.status();
  driver.config = std::move(*config);
  // A node reports one segment per topology key (NodeGetInfo): refused before anything starts.
  // With node.topology_from_node_labels the configuration lists every rack's backends, and the
  // node's labels choose among them (startNodeProfile).
  if (driver.servesNode() && !driver.config.node.topologyFromNodeLabels) {
    if (auto topology = config::nodeTopology(driver.config); !topology.isOk())
      return topology.status();
  }
  auto socketPath = socketPathOf(options.endpoint);
  if (!socketPath.isOk()) return socketPath.status();
  components.socketPath = *socketPath;

  std::error_code error;
  std::filesystem::create_directories(driver.config.statePath, error);
  if (error)
    return Status(Code::kFailedPrecondition, "state_path " + driver.config.statePath +
                                                 " cannot be created: " + error.message());
  return Status::ok();
}

// Loads the plugins and starts every configured backend, with their secrets and metrics.
Status startBackends(const ServeOptions& options, ServerComponents& components) {
  DriverContext& driver = components.driver;
  StatusOr<std::string> pluginDir = !options.pluginDir.empty() ? options.pluginDir
                                    : !driver.config.pluginDir.empty()
                                        ? driver.config.pluginDir
                                        : plugin_host::defaultPluginDir();
  if (!pluginDir.isOk()) return pluginDir.status();
  if (Status started = driver.backends.start(driver.config, *pluginDir, roleOf(driver.mode),
                                             &components.driver.metrics);
      !started.isOk())
    return started;
  registerSecrets(driver.config, driver.backends);
  for (const auto* backend : driver.backends.all())
    components.driver.metrics.registerPrefix(backend->descriptor().metricsPrefix);
  return Status::ok();
}

// The Kubernetes client and event recorder, when there is an API server (given, or the
// in-cluster service account); without one, events and reconciliation are off.
Status connectKubernetes(const ServeOptions& options, ServerComponents& components) {
  std::optional<kube::KubeConfig> kubeConfig;
  if (!options.kubeApi.empty()) {
    auto explicitConfig = explicitKubeConfig(options);
    if (!explicitConfig.isOk()) return explicitConfig.status();
    kubeConfig = *explicitConfig;
  } else {
    kubeConfig = kube::inClusterConfig();
  }
  if (!kubeConfig) {
    spdlog::info(
        "no Kubernetes service account token found: events and VolumeAttachment "
        "reconciliation are off");
    return Status::ok();
  }
  auto kube = kube::KubeClient::create(*kubeConfig);
  if (!kube.isOk()) return kube.status();
  components.kube = std::move(*kube);
  auto events = kube::EventRecorder::create(*components.kube, "polycsi-controller");
  if (!events.isOk()) return events.status();
  components.events = std::move(*events);
  return Status::ok();
}

// The attacher lease's namespace: the flag, else the pod's (downward API), else the service
// account's, as csi-lib-utils' inClusterNamespace() finds it.
StatusOr<std::string> leaderElectionNamespace(const ServeOptions& options) {
  if (!options.leaderElectionNamespace.empty()) return options.leaderElectionNamespace;
  if (const char* fromPod = std::getenv("POD_NAMESPACE"); fromPod && *fromPod)
    return std::string(fromPod);
  std::ifstream in("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
  std::string fromAccount;
  if (in >> fromAccount && !fromAccount.empty()) return fromAccount;
  return Status(Code::kInvalidArgument,
                "--leader-election: set --leader-election-namespace (or POD_NAMESPACE): the "
                "namespace of the attacher's lease is not known outside a pod");
}

// Several replicas: this one changes attachments only while its attacher leads.
Status startLeadership(const ServeOptions& options, ServerComponents& components) {
  auto leaseNamespace = leaderElectionNamespace(options);
  if (!leaseNamespace.isOk()) return leaseNamespace.status();
  std::string identity = options.leaderElectionIdentity;
  if (identity.empty()) {
    // The attacher's own default: os.Hostname(), sanitized (csi-lib-utils leaderelection).
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0)
      return Status(Code::kInternal, "--leader-election: cannot read this host's name");
    identity = kube::sanitizeLeaderElectionName(host);
  }
  auto leadership = kube::ControllerLeadership::create(
      *components.kube, *components.reconciler,
      {*leaseNamespace, kube::attacherLeaseName(components.driver.config.driverName), identity});
  if (!leadership.isOk()) return leadership.status();
  components.leadership = std::move(*leadership);
  components.driver.leadership = components.leadership.get();
  spdlog::info("leader election: changing attachments only while lease {}/{} names \"{}\"",
               *leaseNamespace, kube::attacherLeaseName(components.driver.config.driverName),
               identity);
  return components.leadership->start();
}

// VolumeAttachment reconciliation: the cluster may hold attachments the store does not (a lost
// store, a detach while the controller was down), so nothing touches attachments until the
// first pass rebuilt them.
Status startReconciler(const ServeOptions& options, ServerComponents& components) {
  DriverContext& driver = components.driver;
  driver.attachmentsKnown = false;
  auto reconciler = kube::VolumeAttachmentReconciler::create(
      *components.kube, *components.attachments, driver.config.driverName,
      makePvPolicyResolver(driver, components.events.get()), makeBackendFencer(driver),
      &driver.controllerLocks);
  if (!reconciler.isOk()) return reconciler.status();
  components.reconciler = std::move(*reconciler);
  DriverContext* context = &driver;
  components.reconciler->onFirstCompletePass([context] {
    context->attachmentsKnown = true;
    spdlog::info("attachments rebuilt from VolumeAttachments: serving publishes");
  });
  if (options.leaderElection) {
    if (Status led = startLeadership(options, components); !led.isOk()) return led;
  }
  return components.reconciler->start(std::chrono::seconds(options.reconcilePeriodSeconds));
}

// The controller side: the attachment store and manager, its observers, the migration window
// watcher and (with a Kubernetes API) the reconciler.
Status startController(const ServeOptions& options, ServerComponents& components) {
  DriverContext& driver = components.driver;
  auto store = attach::AttachmentStore::open(driver.config.statePath + "/attachments.db");
  if (!store.isOk()) return store.status();
  components.store = std::move(*store);
  components.migrationMetrics =
      std::make_unique<observe::MigrationMetrics>(components.driver.metrics);
  // With --leader-election only the leading replica announces migrations (events, counters);
  // `leadership` is made later, by startReconciler.
  ServerComponents* all = &components;
  auto leading = [all] { return all->leadership == nullptr || all->leadership->leading(); };
  components.gatedMetrics =
      std::make_unique<observe::LeaderOnlyObserver>(*components.migrationMetrics, leading);
  if (components.events)
    components.gatedEvents =
        std::make_unique<observe::LeaderOnlyObserver>(*components.events, leading);
  components.observers =
      std::make_unique<observe::ObserverFanout>(std::vector<attach::MigrationObserver*>{
          components.gatedMetrics.get(), components.gatedEvents.get()});
  auto attachments = attach::AttachmentManager::create(*components.store, *components.observers);
  if (!attachments.isOk()) return attachments.status();
  components.attachments = std::move(*attachments);
  driver.attachments = components.attachments.get();
  driver.kube = components.kube.get();
  driver.events = components.events.get();
  // The gauges start from what was persisted before this start.
  for (const auto& state : components.attachments->all())
    components.migrationMetrics->attachmentsChanged(state);
  // Windows end at expiry, also those that expired while the controller was down.
  auto windowWatcher = attach::MigrationWindowWatcher::create(*components.attachments);
  if (!windowWatcher.isOk()) return windowWatcher.status();
  components.windowWatcher = std::move(*windowWatcher);
  if (Status started = components.windowWatcher->start(); !started.isOk()) return started;
  if (components.kube) return startReconciler(options, components);
  if (options.leaderElection)
    return Status(Code::kInvalidArgument,
                  "--leader-election needs the Kubernetes API (in a cluster, or "
                  "--kubernetes-api): the attacher's lease is read there");
  return Status::ok();
}

// What this node reports and reaches (config/node_profile.hpp). With
// node.topology_from_node_labels its Node's labels are read first: without them the node cannot
// know which backends it reaches, and a wrong topology would send pods where their volumes
// cannot be attached, so the start fails (kube/node_labels.hpp retries an unavailable API
// server a few times first).
Status startNodeProfile(ServerComponents& components) {
  DriverContext& driver = components.driver;
  std::optional<StringMap> labels;
  if (driver.config.node.topologyFromNodeLabels) {
    if (!components.kube)
      return Status(Code::kFailedPrecondition,
                    "node.topology_from_node_labels: true needs the Kubernetes API to read the "
                    "labels of Node " +
                        driver.nodeName +
                        " (the pod's service account, or --kubernetes-api), and none is "
                        "configured");
    auto read = kube::readNodeLabelsAtStart(*components.kube, driver.nodeName);
    if (!read.isOk())
      return Status(read.status().code(),
                    "node.topology_from_node_labels: " + read.status().message() +
                        "; a node must not report a topology it cannot check, so it does not "
                        "start");
    labels = std::move(*read);
  }
  auto profile = config::nodeProfile(driver.config, driver.nodeName, labels);
  if (!profile.isOk()) return profile.status();
  driver.nodeProfile = std::move(*profile);
  if (labels) {
    std::string reached;
    for (const auto& backend : driver.config.backends) {
      if (!config::checkNodeReaches(driver.nodeProfile, backend, driver.nodeName).isOk()) continue;
      reached += (reached.empty() ? "" : ", ") + backend.name;
    }
    if (reached.empty())
      spdlog::warn(
          "node {}: its labels reach none of the configured backends' segments; it serves no "
          "volume (docs/topology.md)",
          driver.nodeName);
    else
      spdlog::info("node {}: from its labels, it reaches backends {}; topology {}", driver.nodeName,
                   reached, config::describeSegments(driver.nodeProfile.topology));
  }
  if (driver.nodeProfile.maxVolumesPerNode > 0)
    spdlog::info("node {}: at most {} volumes ({})", driver.nodeName,
                 driver.nodeProfile.maxVolumesPerNode, driver.nodeProfile.maxVolumesSource);
  return Status::ok();
}

// The node side: the mounter, LUKS encryption and the per-volume node records.
void startNode(ServerComponents& components) {
  DriverContext& driver = components.driver;
  driver.mounter = std::make_unique<node::Mounter>();
  driver.luks = std::make_unique<node::LuksDevices>();
  driver.nodeRecords = std::make_unique<NodeVolumeRecords>(driver.config.statePath + "/node");
}

// /metrics and /healthz, when an address is given.
Status startMetricsEndpoint(const ServeOptions& options, ServerComponents& components) {
  if (options.metricsAddress.empty()) return Status::ok();
  DriverContext* context = &components.driver;
  auto http = observe::HttpEndpoint::start(options.metricsAddress, components.driver.metrics,
                                           [context] { return context->serving(); });
  if (!http.isOk()) return http.status();
  components.http = std::move(*http);
  return Status::ok();
}

// The CSI services on an owner-only unix socket.
Status listenOnSocket(const ServeOptions& options, ServerComponents& components) {
  DriverContext& driver = components.driver;
  components.identity = std::make_unique<IdentityService>(driver);
  grpc::ServerBuilder builder;
  builder.RegisterService(components.identity.get());
  if (driver.servesController()) {
    components.controller = std::make_unique<ControllerService>(driver);
    builder.RegisterService(components.controller.get());
    components.groupController = std::make_unique<GroupControllerService>(driver);
    builder.RegisterService(components.groupController.get());
  }
  if (driver.servesNode()) {
    components.node = std::make_unique<NodeService>(driver);
    builder.RegisterService(components.node.get());
  }
  // Only the socket's owner (kubelet and the sidecars run as root) may talk to the driver.
  std::error_code ignored;  // a missing directory shows as the bind's failure below
  std::filesystem::create_directories(std::filesystem::path(components.socketPath).parent_path(),
                                      ignored);
  if (Status removed = removeStaleSocket(components.socketPath); !removed.isOk()) return removed;
  // bind(2) creates the socket with 0777 & ~umask: 0600 from its first moment, no chmod later
  // (a chmod by path would follow a symlink swapped in after the bind).
  mode_t previous = ::umask(0177);
  builder.AddListeningPort("unix:" + components.socketPath, grpc::InsecureServerCredentials());
  components.grpc = builder.BuildAndStart();
  ::umask(previous);
  if (!components.grpc) return Status(Code::kUnavailable, "cannot listen on " + options.endpoint);
  // Anything but an owner-only socket now means someone raced us for the path.
  struct stat created {};
  if (::lstat(components.socketPath.c_str(), &created) != 0 || !S_ISSOCK(created.st_mode) ||
      (created.st_mode & 0777) != 0600) {
    components.grpc->Shutdown();
    return Status(Code::kFailedPrecondition, "the CSI socket " + components.socketPath +
                                                 " is not an owner-only socket after bind");
  }
  return Status::ok();
}

void logServing(const ServeOptions& options, const DriverContext& driver) {
  spdlog::info("polycsi {} serving {} on {} ({} backends)", driver.version,
               driver.mode == DriverMode::kAll          ? "controller+node"
               : driver.mode == DriverMode::kController ? "controller"
                                                        : "node",
               options.endpoint, driver.backends.all().size());
  // external-resizer v1.12.0 exits at start-up when neither service offers EXPAND_VOLUME
  // (pkg/resizer/csi_resizer.go); say so where an operator looks for why it crash-loops.
  if (driver.servesController() && !AdvertisedCapabilities::of(driver.backends).nodeExpand)
    spdlog::warn(
        "no configured backend can expand volumes: EXPAND_VOLUME is not advertised, and "
        "csi-resizer would exit at start-up; do not deploy it with this configuration "
        "(docs/plugin-sdk.md, section 3.7)");
  // external-health-monitor v0.18.0 exits at start-up without the controller's
  // VOLUME_CONDITION (cmd/csi-external-health-monitor-controller/main.go).
  if (driver.servesController() &&
      !AdvertisedCapabilities::of(driver.backends).controllerVolumeCondition)
    spdlog::warn(
        "a configured backend cannot report volume conditions: VOLUME_CONDITION is not "
        "advertised, and csi-external-health-monitor-controller would exit at start-up; do not "
        "deploy it with this configuration (docs/volume-health.md)");
}

}  // namespace

StatusOr<std::unique_ptr<DriverServer>> DriverServer::start(const ServeOptions& options) {
  auto components = std::make_unique<ServerComponents>();
  if (Status configured = configure(options, *components); !configured.isOk()) return configured;
  if (Status backends = startBackends(options, *components); !backends.isOk()) return backends;
  if (Status kube = connectKubernetes(options, *components); !kube.isOk()) return kube;
  const DriverContext& driver = components->driver;
  if (driver.servesController()) {
    if (Status controller = startController(options, *components); !controller.isOk())
      return controller;
  }
  if (driver.servesNode()) {
    if (Status profile = startNodeProfile(*components); !profile.isOk()) return profile;
    startNode(*components);
  }
  if (Status http = startMetricsEndpoint(options, *components); !http.isOk()) return http;
  if (Status listening = listenOnSocket(options, *components); !listening.isOk()) return listening;
  components->driver.ready = true;
  logServing(options, driver);
  return std::unique_ptr<DriverServer>(new DriverServer(std::move(components)));
}

DriverServer::DriverServer(std::unique_ptr<ServerComponents> components)
    : components_(std::move(components)) {}

DriverServer::~DriverServer() { shutdown(); }

void DriverServer::wait() { components_->grpc->Wait(); }

void DriverServer::shutdown() {
  std::call_once(components_->stopOnce, [this] {
    spdlog::info("shutting down");
    components_->driver.ready = false;
    components_->driver.cancellation.cancelAll();
    if (components_->leadership) components_->leadership->stop();
    if (components_->reconciler) components_->reconciler->stop();
    if (components_->windowWatcher) components_->windowWatcher->stop();
    components_->grpc->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (components_->events) components_->events->stop();
    if (components_->http) components_->http->stop();
    ::unlink(components_->socketPath.c_str());
  });
}

}  // namespace polycsi::server
