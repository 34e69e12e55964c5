#include "driver_process.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_process.hpp"

namespace polycsi::testing {

std::unique_ptr<grpc::ClientContext> rpcContext(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

DriverProcess::DriverProcess(std::string work, std::string configBody, std::string nodeId,
                             std::vector<std::string> extraArgs)
    : work_(std::move(work)),
      socketPath_(work_ + "/csi.sock"),
      configPath_(work_ + "/config.yaml"),
      logPath_(work_ + "/driver.log"),
      nodeId_(std::move(nodeId)),
      extraArgs_(std::move(extraArgs)) {
  std::ofstream(configPath_) << "state_path: " << work_ << "/state\n" << configBody;
}

DriverProcess::~DriverProcess() {
  if (running()) stop(true);
}

std::string DriverProcess::log() const {
  std::ifstream in(logPath_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void DriverProcess::start(Wait wait) {
  std::vector<std::string> argv = {
      POLYCSI_BINARY, "--log-level",           "debug",     "serve", "--config",     configPath_,
      "--endpoint",   "unix://" + socketPath_, "--node-id", nodeId_, "--plugin-dir", pluginDir_};
  for (const auto& a : extraArgs_) argv.push_back(a);
  ChildOptions options;
  options.argv = argv;
  options.outputPath = logPath_;
  child_ = std::make_unique<ChildProcess>(options);
  channel_ = grpc::CreateChannel("unix://" + socketPath_, grpc::InsecureChannelCredentials());
  identity_ = csi::v1::Identity::NewStub(channel_);
  controller_ = csi::v1::Controller::NewStub(channel_);
  groupController_ = csi::v1::GroupController::NewStub(channel_);
  node_ = csi::v1::Node::NewStub(channel_);
  for (int i = 0; i < 200; ++i) {
    if (child_->hasExited()) {
      throw std::runtime_error("polycsi exited at start:\n" + log());
    }
    if (std::filesystem::exists(socketPath_)) {
      csi::v1::ProbeRequest req;
      csi::v1::ProbeResponse resp;
      auto ctx = rpcContext(2);
      if (identity_->Probe(ctx.get(), req, &resp).ok() &&
          (wait == Wait::kAnswering || resp.ready().value()))
        return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop(true);
  throw std::runtime_error("polycsi did not become ready within 10 s:\n" + log());
}

void DriverProcess::stop(bool hard) {
  if (!child_) return;
  if (hard) {
    child_->kill();
  } else {
    child_->stop(std::chrono::seconds(15));
  }
}

}  // namespace polycsi::testing
