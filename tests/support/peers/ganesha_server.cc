#include "ganesha_server.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_process.hpp"
#include "loopback.hpp"

namespace polycsi::testing {
namespace {

constexpr char kGanesha[] = "/usr/bin/ganesha.nfsd";

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string GaneshaServer::unavailableReason() {
  if (::access(kGanesha, X_OK) != 0)
    return std::string(kGanesha) +
           " is not installed (apt-get install nfs-ganesha nfs-ganesha-vfs)";
  if (::geteuid() != 0) return "nfs-ganesha's VFS backend needs root";
  return {};
}

GaneshaServer::GaneshaServer(GaneshaOptions options) : options_(options), root_("polycsi-ganesha") {
  if ((options_.ns == nullptr) != (options_.rpcbind == nullptr))
    throw std::invalid_argument("GaneshaOptions: ns and rpcbind go together");
  exportDir_ = root_.file("export");
  otherExportDir_ = root_.file("other");
  configPath_ = root_.file("ganesha.conf");
  logPath_ = root_.file("ganesha.log");
  pidPath_ = root_.file("ganesha.pid");
  std::filesystem::create_directories(exportDir_);
  std::filesystem::create_directories(otherExportDir_);
  std::filesystem::create_directories(root_.file("recovery"));
}

GaneshaServer::~GaneshaServer() { stop(); }

std::string GaneshaServer::log() const {
  return readAll(logPath_) + readAll(root_.file("ganesha.out"));
}

void GaneshaServer::writeConfig() const {
  std::ofstream out(configPath_);
  const bool v3 = servesNfsV3();
  const char* protocols = v3 ? "3, 4" : "4";
  // NLM, RQUOTA and UDP would need more of rpcbind than the tests use. In a private namespace
  // the server listens on every address there, which is its loopback only (and binding to
  // 127.0.0.1 by name fails there: getaddrinfo with AI_ADDRCONFIG wants a non-loopback
  // address). Graceless: no 90 s grace period after each (re)start, which tests of restarts
  // cannot afford.
  out << "NFS_CORE_PARAM {\n";
  if (!v3) out << "  Bind_addr = 127.0.0.1;\n";
  out << "  NFS_Port = " << nfsPort_ << ";\n";
  if (v3) out << "  MNT_Port = " << mountPort_ << ";\n";
  out << "  Protocols = " << protocols
      << ";\n"
         "  Enable_NLM = false;\n"
         "  Enable_RQUOTA = false;\n"
         "  Enable_UDP = false;\n"
         "  Mount_Path_Pseudo = true;\n"
         "}\n"
         "NFSV4 {\n"
         "  Graceless = true;\n"
         "  Lease_Lifetime = 10;\n"
         "  RecoveryBackend = fs;\n"
         "  RecoveryRoot = "
      << root_.file("recovery") << ";\n}\n";
  int id = 1;
  for (const auto& [path, pseudo] : {std::pair<std::string, std::string>{exportDir_, share()},
                                     {otherExportDir_, otherShare()}}) {
    out << "EXPORT {\n"
           "  Export_Id = "
        << id++ << ";\n  Path = " << path << ";\n  Pseudo = " << pseudo
        << ";\n  Protocols = " << protocols
        << ";\n"
           "  Transports = TCP;\n"
           "  Access_Type = RW;\n"
           "  Squash = No_Root_Squash;\n"
           "  SecType = sys;\n"
           "  FSAL { Name = VFS; }\n"
           "}\n";
  }
  if (!out) throw std::runtime_error("cannot write " + configPath_);
}

void GaneshaServer::start() {
  if (running()) return;
  const bool v3 = servesNfsV3();
  if (nfsPort_ == 0) {
    nfsPort_ = v3 ? kNamespaceNfsPort : freeLoopbackPort();
    mountPort_ = v3 ? kNamespaceMountPort : 0;
  }
  if (v3 && !options_.rpcbind->running())
    throw std::runtime_error("ganesha needs rpcbind running to start NFSv3");
  writeConfig();
  ChildOptions spawn;
  spawn.argv = {kGanesha, "-F", "-f",     configPath_, "-L",
                logPath_, "-p", pidPath_, "-N",        "NIV_EVENT"};
  spawn.outputPath = root_.file("ganesha.out");
  if (v3) {
    spawn.networkNamespaceFd = options_.ns->fd();
    spawn.privateRunDir = options_.rpcbind->runDir();
  }
  // The log of an earlier run would announce a start that has not happened yet.
  std::error_code ec;
  std::filesystem::remove(logPath_, ec);
  child_ = std::make_unique<ChildProcess>(spawn);
  auto serves = [&](int port) {
    return v3 ? options_.ns->acceptsTcp(port) : acceptsTcpOnLoopback(port);
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (child_->hasExited()) {
      throw std::runtime_error("ganesha.nfsd exited during start-up; log:\n" + log());
    }
    if (readAll(logPath_).find("NFS SERVER INITIALIZED") != std::string::npos && serves(nfsPort_) &&
        (!v3 || serves(mountPort_)))
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error("ganesha.nfsd did not serve within 30 s; log:\n" + log());
}

void GaneshaServer::stop() {
  if (child_) child_->stop(std::chrono::seconds(10));
}

void GaneshaServer::kill() {
  if (child_) child_->kill();
}

void GaneshaServer::pause() {
  if (running()) ::kill(child_->pid(), SIGSTOP);
}

void GaneshaServer::resume() {
  if (running()) ::kill(child_->pid(), SIGCONT);
}

}  // namespace polycsi::testing
