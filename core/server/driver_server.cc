#include "server/driver_server.hpp"

#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include "attach/attachment_store.hpp"
#include "attach/migration_window_watcher.hpp"
#include "kube/event_recorder.hpp"
#include "kube/kube_client.hpp"
#include "kube/volume_attachment_reconciler.hpp"
#include "observe/http_endpoint.hpp"
#include "observe/logging.hpp"
#include "observe/metrics_observer.hpp"
#include "observe/observer_fanout.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "server/advertised_capabilities.hpp"
#include "server/controller_service.hpp"
#include "server/identity_service.hpp"
#include "server/node_service.hpp"
#include "server/pv_policy_resolver.hpp"
#include "server/storage_fence.hpp"

namespace polycsi::server {

struct DriverServer::Parts {
  DriverContext driver;
  observe::Metrics metrics;
  std::unique_ptr<observe::ObserverFanout> observers;
  std::unique_ptr<observe::MigrationMetrics> migrationMetrics;
  std::unique_ptr<attach::AttachmentStore> store;
  std::unique_ptr<attach::AttachmentManager> attachments;
  std::unique_ptr<kube::KubeClient> kube;
  std::unique_ptr<kube::EventRecorder> events;
  std::unique_ptr<kube::VolumeAttachmentReconciler> reconciler;
  // After everything its reports reach, so it stops first if a failed start unwinds.
  std::unique_ptr<attach::MigrationWindowWatcher> windowWatcher;
  std::unique_ptr<observe::HttpEndpoint> http;
  std::unique_ptr<IdentityService> identity;
  std::unique_ptr<ControllerService> controller;
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

}  // namespace

StatusOr<std::unique_ptr<DriverServer>> DriverServer::start(const ServeOptions& options) {
  auto parts = std::make_unique<Parts>();
  DriverContext& d = parts->driver;
  d.mode = options.mode;
  d.nodeName = options.nodeId;
  d.version = options.version;
  d.metrics = &parts->metrics;
  if (d.servesNode() && d.nodeName.empty())
    return Status(Code::kInvalidArgument, "--node-id is required in node and all modes");

  auto config = config::loadConfigFile(options.configPath);
  if (!config.isOk()) return config.status();
  d.config = std::move(*config);
  auto socketPath = socketPathOf(options.endpoint);
  if (!socketPath.isOk()) return socketPath.status();
  parts->socketPath = *socketPath;

  std::error_code ec;
  std::filesystem::create_directories(d.config.statePath, ec);
  if (ec)
    return Status(Code::kFailedPrecondition,
                  "state_path " + d.config.statePath + " cannot be created: " + ec.message());

  StatusOr<std::string> pluginDir = !options.pluginDir.empty()    ? options.pluginDir
                                    : !d.config.pluginDir.empty() ? d.config.pluginDir
                                                                  : plugin_host::defaultPluginDir();
  if (!pluginDir.isOk()) return pluginDir.status();
  if (auto s = d.backends.start(d.config, *pluginDir, roleOf(d.mode), &parts->metrics); !s.isOk())
    return s;
  registerSecrets(d.config, d.backends);
  for (const auto* b : d.backends.all())
    parts->metrics.registerPrefix(b->descriptor().metricsPrefix);

  // Kubernetes: events and VolumeAttachment reconciliation, only with an API server.
  std::optional<kube::KubeConfig> kubeConfig;
  if (!options.kubeApi.empty()) {
    auto explicitConfig = explicitKubeConfig(options);
    if (!explicitConfig.isOk()) return explicitConfig.status();
    kubeConfig = *explicitConfig;
  } else {
    kubeConfig = kube::inClusterConfig();
  }
  if (kubeConfig) {
    auto kube = kube::KubeClient::create(*kubeConfig);
    if (!kube.isOk()) return kube.status();
    parts->kube = std::move(*kube);
    auto events = kube::EventRecorder::create(*parts->kube, "polycsi-controller");
    if (!events.isOk()) return events.status();
    parts->events = std::move(*events);
  } else {
    spdlog::info(
        "no Kubernetes service account token found: events and VolumeAttachment "
        "reconciliation are off");
  }

  if (d.servesController()) {
    auto store = attach::AttachmentStore::open(d.config.statePath + "/attachments.db");
    if (!store.isOk()) return store.status();
    parts->store = std::move(*store);
    parts->migrationMetrics = std::make_unique<observe::MigrationMetrics>(parts->metrics);
    parts->observers =
        std::make_unique<observe::ObserverFanout>(std::vector<attach::MigrationObserver*>{
            parts->migrationMetrics.get(), parts->events.get()});
    auto attachments = attach::AttachmentManager::create(*parts->store, *parts->observers);
    if (!attachments.isOk()) return attachments.status();
    parts->attachments = std::move(*attachments);
    d.attachments = parts->attachments.get();
    d.kube = parts->kube.get();
    // The gauges start from what was persisted before this start.
    for (const auto& state : parts->attachments->all())
      parts->migrationMetrics->attachmentsChanged(state);
    // Windows end at expiry, also those that expired while the controller was down.
    auto windowWatcher = attach::MigrationWindowWatcher::create(*parts->attachments);
    if (!windowWatcher.isOk()) return windowWatcher.status();
    parts->windowWatcher = std::move(*windowWatcher);
    if (Status started = parts->windowWatcher->start(); !started.isOk()) return started;
    if (parts->kube) {
      // The cluster may hold attachments the store does not (a lost store, a detach while the
      // controller was down): nothing touches attachments until the first pass rebuilt them.
      d.attachmentsKnown = false;
      auto reconciler = kube::VolumeAttachmentReconciler::create(
          *parts->kube, *parts->attachments, d.config.driverName,
          makePvPolicyResolver(d, parts->events.get()), makeBackendFencer(d), &d.controllerLocks);
      if (!reconciler.isOk()) return reconciler.status();
      parts->reconciler = std::move(*reconciler);
      DriverContext* ctx = &d;
      parts->reconciler->onFirstCompletePass([ctx] {
        ctx->attachmentsKnown = true;
        spdlog::info("attachments rebuilt from VolumeAttachments: serving publishes");
      });
      if (Status started =
              parts->reconciler->start(std::chrono::seconds(options.reconcilePeriodSeconds));
          !started.isOk())
        return started;
    }
  }
  if (d.servesNode()) {
    d.mounter = std::make_unique<node::Mounter>();
    d.nodeRecords = std::make_unique<NodeVolumeRecords>(d.config.statePath + "/node");
  }

  if (!options.metricsAddress.empty()) {
    DriverContext* ctx = &d;
    auto http = observe::HttpEndpoint::start(options.metricsAddress, parts->metrics,
                                             [ctx] { return ctx->serving(); });
    if (!http.isOk()) return http.status();
    parts->http = std::move(*http);
  }

  parts->identity = std::make_unique<IdentityService>(d);
  grpc::ServerBuilder builder;
  builder.RegisterService(parts->identity.get());
  if (d.servesController()) {
    parts->controller = std::make_unique<ControllerService>(d);
    builder.RegisterService(parts->controller.get());
  }
  if (d.servesNode()) {
    parts->node = std::make_unique<NodeService>(d);
    builder.RegisterService(parts->node.get());
  }
  // Only the socket's owner (kubelet and the sidecars run as root) may talk to the driver.
  std::filesystem::create_directories(std::filesystem::path(parts->socketPath).parent_path(), ec);
  if (auto s = removeStaleSocket(parts->socketPath); !s.isOk()) return s;
  // bind(2) creates the socket with 0777 & ~umask: 0600 from its first moment, no chmod later
  // (a chmod by path would follow a symlink swapped in after the bind).
  mode_t previous = ::umask(0177);
  builder.AddListeningPort("unix:" + parts->socketPath, grpc::InsecureServerCredentials());
  parts->grpc = builder.BuildAndStart();
  ::umask(previous);
  if (!parts->grpc) return Status(Code::kUnavailable, "cannot listen on " + options.endpoint);
  // Anything but an owner-only socket now means someone raced us for the path.
  struct stat created {};
  if (::lstat(parts->socketPath.c_str(), &created) != 0 || !S_ISSOCK(created.st_mode) ||
      (created.st_mode & 0777) != 0600) {
    parts->grpc->Shutdown();
    return Status(Code::kFailedPrecondition, "the CSI socket " + parts->socketPath +
                                                 " is not an owner-only socket after bind");
  }
  d.ready = true;
  spdlog::info("polycsi {} serving {} on {} ({} backends)", d.version,
               d.mode == DriverMode::kAll          ? "controller+node"
               : d.mode == DriverMode::kController ? "controller"
                                                   : "node",
               options.endpoint, d.backends.all().size());
  // external-resizer v1.12.0 exits at start-up when neither service offers EXPAND_VOLUME
  // (pkg/resizer/csi_resizer.go); say so where an operator looks for why it crash-loops.
  if (d.servesController() && !AdvertisedCapabilities::of(d.backends).nodeExpand)
    spdlog::warn(
        "no configured backend can expand volumes: EXPAND_VOLUME is not advertised, and "
        "csi-resizer would exit at start-up; do not deploy it with this configuration "
        "(docs/plugin-sdk.md, section 3.7)");
  return std::unique_ptr<DriverServer>(new DriverServer(std::move(parts)));
}

DriverServer::DriverServer(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

DriverServer::~DriverServer() { shutdown(); }

void DriverServer::wait() { parts_->grpc->Wait(); }

void DriverServer::shutdown() {
  std::call_once(parts_->stopOnce, [this] {
    spdlog::info("shutting down");
    parts_->driver.ready = false;
    parts_->driver.cancellation.cancelAll();
    if (parts_->reconciler) parts_->reconciler->stop();
    if (parts_->windowWatcher) parts_->windowWatcher->stop();
    parts_->grpc->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (parts_->events) parts_->events->stop();
    if (parts_->http) parts_->http->stop();
    ::unlink(parts_->socketPath.c_str());
  });
}

}  // namespace polycsi::server
