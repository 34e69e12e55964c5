#include "rpcbind_server.hpp"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_process.hpp"

namespace polycsi::testing {
namespace {

constexpr char kRpcbind[] = "/usr/sbin/rpcbind";
constexpr int kPortmapperPort = 111;

}  // namespace

std::string RpcbindServer::unavailableReason() {
  if (::access(kRpcbind, X_OK) != 0)
    return std::string(kRpcbind) + " is not installed (apt-get install rpcbind)";
  if (::access("/etc/netconfig", R_OK) != 0)
    return "/etc/netconfig is missing (it comes with libtirpc-common)";
  return {};
}

RpcbindServer::RpcbindServer(const NetworkNamespace& ns) : ns_(ns), root_("polycsi-rpcbind") {
  runDir_ = root_.file("run");
  outputPath_ = root_.file("rpcbind.out");
  // rpcbind keeps its state in /run/rpcbind and, on Debian, runs as _rpc there.
  std::filesystem::create_directories(runDir_ + "/rpcbind");
  if (const passwd* user = ::getpwnam("_rpc"))
    if (::chown((runDir_ + "/rpcbind").c_str(), user->pw_uid, user->pw_gid) != 0)
      throw std::runtime_error("cannot hand " + runDir_ + "/rpcbind to _rpc");
}

RpcbindServer::~RpcbindServer() { stop(); }

std::string RpcbindServer::output() const {
  std::ifstream in(outputPath_);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void RpcbindServer::start() {
  if (running()) return;
  // A socket file left by a killed rpcbind would make the next one refuse to start.
  std::error_code ec;
  std::filesystem::remove(runDir_ + "/rpcbind.sock", ec);
  ChildOptions options;
  options.argv = {kRpcbind, "-f"};
  options.outputPath = outputPath_;
  options.networkNamespaceFd = ns_.fd();
  options.privateRunDir = runDir_;
  child_ = std::make_unique<ChildProcess>(options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (child_->hasExited()) {
      throw std::runtime_error("rpcbind exited during start-up: " + output());
    }
    if (ns_.acceptsTcp(kPortmapperPort) && std::filesystem::exists(runDir_ + "/rpcbind.sock", ec))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("rpcbind did not accept on port 111 within 10 s: " + output());
}

void RpcbindServer::stop() {
  if (child_) child_->stop(std::chrono::seconds(5));
}

}  // namespace polycsi::testing
