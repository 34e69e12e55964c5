#include "network_namespace.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "test_process.hpp"

namespace polycsi::nfs::testing {
namespace {

constexpr char kIp[] = "/usr/sbin/ip";
constexpr char kPrefix[] = "polycsi-nfs-";
constexpr char kNft[] = "/usr/sbin/nft";
constexpr char kFirewallTable[] = "polycsi_nfs_test";
constexpr auto kIpTimeout = std::chrono::seconds(20);

void ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kIp};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandResult r = runCommand(argv, kIpTimeout);
  if (r.exitStatus != 0) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    throw std::runtime_error(line + " failed (status " + std::to_string(r.exitStatus) +
                             "): " + r.output);
  }
}

// polycsi-nfs-<pid>-<n> whose pid no longer runs: left by a test process that was killed.
void deleteAbandonedNamespaces() {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    std::string rest = name.substr(std::strlen(kPrefix));
    size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos) continue;
    pid_t owner = static_cast<pid_t>(std::strtol(rest.substr(0, dash).c_str(), nullptr, 10));
    if (owner <= 0 || ::kill(owner, 0) == 0 || errno != ESRCH) continue;
    try {
      ip({"netns", "delete", name});
    } catch (const std::exception&) {
      // Someone else's cleanup won the race; nothing of ours is at stake.
    }
  }
}

int openThreadNamespace() {
  int fd = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error(std::string("cannot open /proc/thread-self/ns/net: ") +
                             std::strerror(errno));
  return fd;
}

}  // namespace

NetworkNamespace::NetworkNamespace() {
  static std::atomic<int> counter{0};
  deleteAbandonedNamespaces();
  name_ = std::string(kPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  ip({"netns", "add", name_});
  try {
    ip({"-n", name_, "link", "set", "lo", "up"});
    std::string path = "/run/netns/" + name_;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  } catch (...) {
    ip({"netns", "delete", name_});
    throw;
  }
}

NetworkNamespace::~NetworkNamespace() {
  if (fd_ >= 0) ::close(fd_);
  try {
    ip({"netns", "delete", name_});
  } catch (const std::exception& e) {
    // A destructor cannot throw; say loudly what is left behind.
    std::fprintf(stderr, "network namespace %s not deleted: %s\n", name_.c_str(), e.what());
  }
}

NetworkNamespace::Entered NetworkNamespace::enter() const {
  int previous = openThreadNamespace();
  if (::setns(fd_, CLONE_NEWNET) != 0) {
    int error = errno;
    ::close(previous);
    throw std::runtime_error("cannot enter network namespace " + name_ + ": " +
                             std::strerror(error));
  }
  return Entered(previous);
}

NetworkNamespace::Entered::Entered(Entered&& other) noexcept : previous_(other.previous_) {
  other.previous_ = -1;
}

NetworkNamespace::Entered::~Entered() {
  if (previous_ < 0) return;
  // Failing to return would leave the thread in a namespace about to vanish: abort loudly.
  if (::setns(previous_, CLONE_NEWNET) != 0) {
    std::fprintf(stderr, "cannot return to the previous network namespace: %s\n",
                 std::strerror(errno));
    std::abort();
  }
  ::close(previous_);
}

bool NetworkNamespace::acceptsTcp(int port) const {
  Entered inside = enter();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

void NetworkNamespace::runInside(const std::vector<std::string>& argv) const {
  std::vector<std::string> args = {"netns", "exec", name_};
  args.insert(args.end(), argv.begin(), argv.end());
  ip(args);
}

void NetworkNamespace::dropTcpTo(const std::vector<int>& ports) {
  std::string set;
  for (int port : ports)
    if (port > 0) set += (set.empty() ? "" : ", ") + std::to_string(port);
  if (set.empty()) throw std::invalid_argument("dropTcpTo needs at least one port");
  allowAllTcp();
  runInside({kNft, "add", "table", "inet", kFirewallTable});
  dropping_ = true;
  runInside({kNft, "add", "chain", "inet", kFirewallTable, "out",
             "{ type filter hook output priority 0 ; }"});
  runInside({kNft, "add", "rule", "inet", kFirewallTable, "out", "tcp", "dport", "{ " + set + " }",
             "drop"});
}

void NetworkNamespace::allowAllTcp() {
  if (!dropping_) return;
  runInside({kNft, "delete", "table", "inet", kFirewallTable});
  dropping_ = false;
}

}  // namespace polycsi::nfs::testing
