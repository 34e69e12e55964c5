// Runs `polycsi serve` as a child process for integration tests, with a config and state in a
// private temporary directory, and gives gRPC stubs for its socket. Stops only the process it
// started, by pid.
#pragma once

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "csi.grpc.pb.h"

namespace polycsi::testing {

class DriverProcess {
 public:
  // `configBody` is the YAML after the state_path line; `work` is an existing directory.
  DriverProcess(std::string work, std::string configBody, std::string nodeId = "node-a",
                std::vector<std::string> extraArgs = {});
  ~DriverProcess();

  // Loads plugins from `dir` instead of the build's plugin directory; call before start().
  void usePluginDir(std::string dir) { pluginDir_ = std::move(dir); }
  // What start() waits for: Probe answering ready (the default), or Probe answering at all
  // (a controller that waits for the cluster's VolumeAttachments answers ready=false).
  enum class Wait { kReady, kAnswering };
  // Starts the driver and waits (bounded) until Probe answers as `wait` says. Throws on
  // failure.
  void start(Wait wait = Wait::kReady);
  // SIGTERM (or SIGKILL when `hard`), then waits for the exit (SIGKILL after 15 s).
  void stop(bool hard = false);
  bool running() const { return child_ && child_->running(); }
  pid_t pid() const { return child_ ? child_->pid() : -1; }

  const std::string& work() const { return work_; }
  const std::string& logPath() const { return logPath_; }
  std::string log() const;

  csi::v1::Identity::Stub& identity() { return *identity_; }
  csi::v1::Controller::Stub& controller() { return *controller_; }
  csi::v1::Node::Stub& node() { return *node_; }
  csi::v1::GroupController::Stub& groupController() { return *groupController_; }

 private:
  std::string work_;
  std::string socketPath_;
  std::string configPath_;
  std::string logPath_;
  std::string nodeId_;
  std::string pluginDir_ = POLYCSI_PLUGIN_DIR;
  std::vector<std::string> extraArgs_;
  std::unique_ptr<ChildProcess> child_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<csi::v1::Identity::Stub> identity_;
  std::unique_ptr<csi::v1::Controller::Stub> controller_;
  std::unique_ptr<csi::v1::Node::Stub> node_;
  std::unique_ptr<csi::v1::GroupController::Stub> groupController_;
};

// A client context with a deadline, for every test RPC.
std::unique_ptr<grpc::ClientContext> rpcContext(int seconds = 60);

}  // namespace polycsi::testing
