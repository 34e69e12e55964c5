// Assembles and runs the driver: configuration, plugins, attachment store, metrics, the
// Kubernetes integration and the gRPC server on the CSI endpoint.
#pragma once

#include <memory>
#include <string>

#include "polycsi/types.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

struct ServeOptions {
  std::string configPath;
  std::string endpoint;  // unix:///path/csi.sock
  std::string nodeId;    // Kubernetes node name (required in node modes)
  DriverMode mode = DriverMode::kAll;
  std::string metricsAddress;  // host:port; empty disables /metrics and /healthz
  std::string pluginDir;       // overrides the config's plugin_dir when set
  std::string version;
  // Out-of-cluster Kubernetes API access; empty: the in-cluster service account is used.
  std::string kubeApi;        // https://host:port
  std::string kubeTokenFile;  // bearer token file (required with kubeApi)
  std::string kubeCaFile;     // CA bundle for the API server's certificate
  // Seconds between VolumeAttachment reconciliation passes (controller with a Kubernetes API).
  int reconcilePeriodSeconds = 60;
  // Several controller replicas (kube/controller_leadership.hpp): follow the attacher's lease.
  bool leaderElection = false;
  std::string leaderElectionNamespace;  // empty: POD_NAMESPACE, then the service account's
  std::string leaderElectionIdentity;   // empty: the hostname, sanitized
};

// "unix:///a/b.sock" or "unix:/a/b.sock" -> "/a/b.sock"; INVALID_ARGUMENT otherwise.
StatusOr<std::string> socketPathOf(const std::string& endpoint);

struct ServerComponents;  // what a running driver holds; defined in driver_server.cc

class DriverServer {
 public:
  // Starts everything or nothing: on error all that was started is stopped again and the
  // Status says what failed.
  static StatusOr<std::unique_ptr<DriverServer>> start(const ServeOptions& options);
  ~DriverServer();

  // Blocks until shutdown() is called.
  void wait();
  // Stops accepting RPCs, lets running ones finish (bounded), stops plugins. Thread-safe and
  // idempotent.
  void shutdown();

 private:
  explicit DriverServer(std::unique_ptr<ServerComponents> components);
  std::unique_ptr<ServerComponents> components_;
};

}  // namespace polycsi::server
