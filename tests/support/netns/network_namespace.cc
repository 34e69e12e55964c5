#include "network_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <utility>

#include "child_process.hpp"
#include "loopback.hpp"

namespace polycsi::testing {
namespace {

constexpr char kPrefix[] = "polycsi-test-";
// dropTcpTo's table, and dropTcpPort's.
constexpr char kFirewallTable[] = "polycsi_nfs_test";
constexpr char kFaultTable[] = "polycsi_faults";
constexpr auto kCommandTimeout = std::chrono::seconds(20);

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

// Runs `argv` to completion; returns its output, throws with it when the command fails.
std::string run(const std::vector<std::string>& argv) {
  CommandOptions options;
  options.timeout = kCommandTimeout;
  options.mergeStderr = true;
  const CommandResult r = runCommand(argv, options);
  if (r.timedOut) throw std::runtime_error("`" + joined(argv) + "` did not finish within 20 s");
  if (r.exitStatus != 0) {
    throw std::runtime_error("`" + joined(argv) + "` failed (status " +
                             std::to_string(r.exitStatus) + "): " + r.output);
  }
  return r.output;
}

void requireTools() {
  for (const char* tool : {"ip", "nft"}) {
    bool found = false;
    for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"})
      found = found || ::access((std::string(dir) + "/" + tool).c_str(), X_OK) == 0;
    if (!found)
      throw std::runtime_error(std::string("`") + tool +
                               "` is not installed; run scripts/install-deps.sh (iproute2, "
                               "nftables)");
  }
}

// polycsi-test-<pid>-<n> whose pid no longer runs: left by a test process that was killed.
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
      run({"ip", "netns", "delete", name});
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

NetworkNamespace::NetworkNamespace(Link link) {
  static std::atomic<int> counter{0};
  requireTools();
  deleteAbandonedNamespaces();
  name_ = std::string(kPrefix) + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  run({"ip", "netns", "add", name_});
  try {
    run({"ip", "-n", name_, "link", "set", "lo", "up"});
    if (link == Link::kVethToHost) addVethLink();
    std::string path = "/run/netns/" + name_;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    try {
      run({"ip", "netns", "delete", name_});
    } catch (const std::exception&) {
    }
    throw;
  }
}

void NetworkNamespace::addVethLink() {
  const unsigned pid = static_cast<unsigned>(::getpid());
  const std::string hostInterface = "pcr" + std::to_string(pid % 10000000) + "h";
  const std::string namespaceInterface = "pcr" + std::to_string(pid % 10000000) + "n";
  // A /30 per process in 10.213.0.0/16, so parallel test processes do not share a subnet.
  const unsigned block = (pid % 16384) * 4;
  const std::string prefix = "10.213." + std::to_string(block / 256) + ".";
  hostAddress_ = prefix + std::to_string(block % 256 + 1);
  namespaceAddress_ = prefix + std::to_string(block % 256 + 2);
  run({"ip", "link", "add", hostInterface, "type", "veth", "peer", "name", namespaceInterface,
       "netns", name_});
  run({"ip", "addr", "add", hostAddress_ + "/30", "dev", hostInterface});
  run({"ip", "link", "set", hostInterface, "up"});
  run({"ip", "-n", name_, "addr", "add", namespaceAddress_ + "/30", "dev", namespaceInterface});
  run({"ip", "-n", name_, "link", "set", namespaceInterface, "up"});
}

NetworkNamespace::~NetworkNamespace() {
  if (fd_ >= 0) ::close(fd_);
  // Deleting the namespace destroys its veth end, the peer here and its nftables rules.
  try {
    run({"ip", "netns", "delete", name_});
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

void NetworkNamespace::runInside(const std::function<void()>& fn) const {
  std::exception_ptr failure;
  std::thread inside([&] {
    try {
      // Only this thread moves; the rest of the test process stays where it was. The thread
      // ends right after, so it is never returned.
      if (::setns(fd_, CLONE_NEWNET) != 0)
        throw std::runtime_error("setns into " + name_ + " failed: " + std::strerror(errno));
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  inside.join();
  if (failure) std::rethrow_exception(failure);
}

bool NetworkNamespace::acceptsTcp(int port) const {
  Entered inside = enter();
  return acceptsTcpOnLoopback(port);
}

std::string NetworkNamespace::nftInside(const std::vector<std::string>& arguments) const {
  std::vector<std::string> argv = {"ip", "netns", "exec", name_, "nft"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return run(argv);
}

void NetworkNamespace::dropTcpTo(const std::vector<int>& ports) {
  std::string set;
  for (int port : ports)
    if (port > 0) set += (set.empty() ? "" : ", ") + std::to_string(port);
  if (set.empty()) throw std::invalid_argument("dropTcpTo needs at least one port");
  allowAllTcp();
  nftInside({"add", "table", "inet", kFirewallTable});
  dropping_ = true;
  nftInside(
      {"add", "chain", "inet", kFirewallTable, "out", "{ type filter hook output priority 0 ; }"});
  nftInside(
      {"add", "rule", "inet", kFirewallTable, "out", "tcp", "dport", "{ " + set + " }", "drop"});
}

void NetworkNamespace::allowAllTcp() {
  if (!dropping_) return;
  nftInside({"delete", "table", "inet", kFirewallTable});
  dropping_ = false;
}

void NetworkNamespace::dropTcpPort(int port, int percent) {
  if (port <= 0 || port > 65535) throw std::invalid_argument("dropTcpPort: bad port");
  if (percent <= 0 || percent > 100) throw std::invalid_argument("dropTcpPort: bad percent");
  if (!faultTableExists_) {
    nftInside({"add", "table", "inet", kFaultTable});
    for (const char* hook : {"input", "output"})
      nftInside({"add", "chain", "inet", kFaultTable, hook, "{", "type", "filter", "hook", hook,
                 "priority", "0", ";", "}"});
    faultTableExists_ = true;
  }
  const std::string p = std::to_string(port);
  std::vector<std::string> loss;
  if (percent < 100) loss = {"numgen", "random", "mod", "100", "<", std::to_string(percent)};
  for (const auto& [hook, direction] :
       std::vector<std::pair<std::string, std::string>>{{"input", "dport"}, {"output", "sport"}}) {
    std::vector<std::string> rule = {"add", "rule", "inet", kFaultTable, hook, "tcp", direction, p};
    rule.insert(rule.end(), loss.begin(), loss.end());
    rule.push_back("drop");
    nftInside(rule);
  }
}

void NetworkNamespace::clearDrops() {
  if (!faultTableExists_) return;
  nftInside({"delete", "table", "inet", kFaultTable});
  faultTableExists_ = false;
}

std::string NetworkNamespace::ruleset() const { return nftInside({"list", "ruleset"}); }

}  // namespace polycsi::testing
