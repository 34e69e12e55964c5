#include "ganesha_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace polycsi::nfs::testing {
namespace {

constexpr char kGanesha[] = "/usr/bin/ganesha.nfsd";

// A port nobody listens on right now (the kernel's choice for an ephemeral bind).
int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot pick a free loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

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

GaneshaServer::GaneshaServer() {
  char pattern[] = "/tmp/polycsi-ganesha-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = pattern;
  exportDir_ = root_ + "/export";
  configPath_ = root_ + "/ganesha.conf";
  logPath_ = root_ + "/ganesha.log";
  pidPath_ = root_ + "/ganesha.pid";
  std::filesystem::create_directories(exportDir_);
  std::filesystem::create_directories(root_ + "/recovery");
}

GaneshaServer::~GaneshaServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

std::string GaneshaServer::log() const { return readAll(logPath_); }

void GaneshaServer::writeConfig() const {
  std::ofstream out(configPath_);
  // NLM, RQUOTA and UDP would need rpcbind; NFSv4 needs none of them. Graceless: no 90 s
  // grace period after each (re)start, which tests of restarts cannot afford.
  out << "NFS_CORE_PARAM {\n"
         "  Bind_addr = 127.0.0.1;\n"
         "  NFS_Port = "
      << nfsPort_
      << ";\n"
         "  Protocols = 4;\n"
         "  Enable_NLM = false;\n"
         "  Enable_RQUOTA = false;\n"
         "  Enable_UDP = false;\n"
         "}\n"
         "NFSV4 {\n"
         "  Graceless = true;\n"
         "  Lease_Lifetime = 10;\n"
         "  RecoveryBackend = fs;\n"
         "  RecoveryRoot = "
      << root_
      << "/recovery;\n"
         "}\n"
         "EXPORT {\n"
         "  Export_Id = 1;\n"
         "  Path = "
      << exportDir_
      << ";\n"
         "  Pseudo = "
      << share()
      << ";\n"
         "  Protocols = 4;\n"
         "  Transports = TCP;\n"
         "  Access_Type = RW;\n"
         "  Squash = No_Root_Squash;\n"
         "  SecType = sys;\n"
         "  FSAL { Name = VFS; }\n"
         "}\n";
  if (!out) throw std::runtime_error("cannot write " + configPath_);
}

void GaneshaServer::start() {
  if (running()) return;
  if (nfsPort_ == 0) nfsPort_ = freeLoopbackPort();
  writeConfig();
  std::vector<std::string> args = {kGanesha, "-F", "-f",     configPath_, "-L",
                                   logPath_, "-p", pidPath_, "-N",        "NIV_EVENT"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::execv(kGanesha, argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("ganesha.nfsd exited during start-up; log:\n" + log());
    }
    if (log().find("NFS SERVER INITIALIZED") != std::string::npos && accepts(nfsPort_)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error("ganesha.nfsd did not serve within 30 s; log:\n" + log());
}

void GaneshaServer::stop() {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace polycsi::nfs::testing
