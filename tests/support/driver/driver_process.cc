#include "driver_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_lifetime.hpp"

namespace polycsi::testing {
namespace {

// Mount points below `dir`, deepest first.
std::vector<std::string> mountsBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mounts");
  std::string device, target, rest;
  while (in >> device >> target && std::getline(in, rest))
    if (target.rfind(dir + "/", 0) == 0) out.push_back(target);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

void runQuietly(const std::vector<std::string>& argv) {
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
}

// Loop devices whose backing file lies below `dir`.
std::vector<std::string> loopsBackedBelow(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/block")) {
    std::string name = entry.path().filename();
    if (name.rfind("loop", 0) != 0) continue;
    std::ifstream in(entry.path() / "loop" / "backing_file");
    std::string backing;
    if (std::getline(in, backing) && backing.rfind(dir + "/", 0) == 0)
      out.push_back("/dev/" + name);
  }
  return out;
}

}  // namespace

std::unique_ptr<grpc::ClientContext> rpcContext(int seconds) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  return ctx;
}

TempWorkDir::TempWorkDir() {
  char pattern[] = "/tmp/polycsi-it.XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempWorkDir::~TempWorkDir() {
  for (const auto& target : mountsBelow(path_)) runQuietly({"umount", target});
  for (const auto& loop : loopsBackedBelow(path_)) runQuietly({"losetup", "-d", loop});
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
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
  const ForkingThread parent = ForkingThread::current();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    killWhenTestProcessEnds(parent);
    int fd = open(logPath_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  channel_ = grpc::CreateChannel("unix://" + socketPath_, grpc::InsecureChannelCredentials());
  identity_ = csi::v1::Identity::NewStub(channel_);
  controller_ = csi::v1::Controller::NewStub(channel_);
  node_ = csi::v1::Node::NewStub(channel_);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
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
  if (pid_ <= 0) return;
  kill(pid_, hard ? SIGKILL : SIGTERM);
  int status = 0;
  for (int i = 0; i < 300; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace polycsi::testing
