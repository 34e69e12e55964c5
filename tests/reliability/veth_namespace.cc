#include "veth_namespace.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

namespace polycsi::reliability {
namespace {

constexpr char kTable[] = "polycsi_faults";
constexpr auto kCommandTimeout = std::chrono::seconds(20);

bool onPath(const std::string& program) {
  for (const char* dir : {"/usr/sbin", "/usr/bin", "/sbin", "/bin"})
    if (::access((std::string(dir) + "/" + program).c_str(), X_OK) == 0) return true;
  return false;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
  return out;
}

}  // namespace

std::string NetworkNamespace::run(const std::vector<std::string>& argv) const {
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(pipeFds[1], STDOUT_FILENO);
    ::dup2(pipeFds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipeFds[1]);
  ::fcntl(pipeFds[0], F_SETFL, O_NONBLOCK);
  std::string output;
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + kCommandTimeout;
  while (!exited) {
    std::array<char, 4096> buffer;
    ssize_t n;
    while ((n = ::read(pipeFds[0], buffer.data(), buffer.size())) > 0)
      output.append(buffer.data(), static_cast<size_t>(n));
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      while ((n = ::read(pipeFds[0], buffer.data(), buffer.size())) > 0)
        output.append(buffer.data(), static_cast<size_t>(n));
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      ::close(pipeFds[0]);
      throw std::runtime_error("`" + joined(argv) + "` did not finish within 20 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::close(pipeFds[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("`" + joined(argv) + "` failed: " + output);
  return output;
}

std::string NetworkNamespace::nftInside(const std::vector<std::string>& arguments) const {
  std::vector<std::string> argv = {"ip", "netns", "exec", name_, "nft"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return run(argv);
}

NetworkNamespace::NetworkNamespace() {
  for (const char* tool : {"ip", "nft"})
    if (!onPath(tool))
      throw std::runtime_error(std::string("`") + tool +
                               "` is not installed; run scripts/install-deps.sh (iproute2, "
                               "nftables)");
  const unsigned pid = static_cast<unsigned>(::getpid());
  name_ = "polycsi-rel-" + std::to_string(pid);
  hostInterface_ = "pcr" + std::to_string(pid % 10000000) + "h";
  namespaceInterface_ = "pcr" + std::to_string(pid % 10000000) + "n";
  // A /30 per process in 10.213.0.0/16, so parallel test processes do not share a subnet.
  const unsigned block = (pid % 16384) * 4;
  const std::string prefix =
      "10.213." + std::to_string(block / 256) + ".";
  hostAddress_ = prefix + std::to_string(block % 256 + 1);
  namespaceAddress_ = prefix + std::to_string(block % 256 + 2);

  run({"ip", "netns", "add", name_});
  created_ = true;
  try {
    run({"ip", "link", "add", hostInterface_, "type", "veth", "peer", "name", namespaceInterface_,
         "netns", name_});
    run({"ip", "addr", "add", hostAddress_ + "/30", "dev", hostInterface_});
    run({"ip", "link", "set", hostInterface_, "up"});
    run({"ip", "-n", name_, "addr", "add", namespaceAddress_ + "/30", "dev", namespaceInterface_});
    run({"ip", "-n", name_, "link", "set", namespaceInterface_, "up"});
    run({"ip", "-n", name_, "link", "set", "lo", "up"});
  } catch (...) {
    // The destructor does not run for a constructor that throws.
    created_ = false;
    try {
      run({"ip", "netns", "del", name_});
    } catch (const std::exception&) {
    }
    throw;
  }
}

NetworkNamespace::~NetworkNamespace() {
  if (!created_) return;
  created_ = false;
  // Deleting the namespace destroys its veth end, its peer here and its nftables rules.
  try {
    run({"ip", "netns", "del", name_});
  } catch (const std::exception&) {
    // Nothing else to try; the name is unique to this process.
  }
}

void NetworkNamespace::runInside(const std::function<void()>& fn) const {
  std::exception_ptr failure;
  std::thread inside([&] {
    try {
      int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("cannot open /run/netns/" + name_);
      // Only this thread moves; the rest of the test process stays where it was.
      int rc = ::setns(fd, CLONE_NEWNET);
      ::close(fd);
      if (rc != 0)
        throw std::runtime_error("setns into " + name_ + " failed: " + std::strerror(errno));
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  inside.join();
  if (failure) std::rethrow_exception(failure);
}

void NetworkNamespace::dropTcpPort(int port, int percent) {
  if (port <= 0 || port > 65535) throw std::invalid_argument("dropTcpPort: bad port");
  if (percent <= 0 || percent > 100) throw std::invalid_argument("dropTcpPort: bad percent");
  if (!tableExists_) {
    nftInside({"add", "table", "inet", kTable});
    for (const char* hook : {"input", "output"})
      nftInside({"add", "chain", "inet", kTable, hook, "{", "type", "filter", "hook", hook,
                 "priority", "0", ";", "}"});
    tableExists_ = true;
  }
  const std::string p = std::to_string(port);
  std::vector<std::string> loss;
  if (percent < 100) loss = {"numgen", "random", "mod", "100", "<", std::to_string(percent)};
  for (const auto& [hook, direction] :
       std::vector<std::pair<std::string, std::string>>{{"input", "dport"}, {"output", "sport"}}) {
    std::vector<std::string> rule = {"add", "rule", "inet", kTable, hook, "tcp", direction, p};
    rule.insert(rule.end(), loss.begin(), loss.end());
    rule.push_back("drop");
    nftInside(rule);
  }
}

void NetworkNamespace::clearDrops() {
  if (!tableExists_) return;
  nftInside({"delete", "table", "inet", kTable});
  tableExists_ = false;
}

std::string NetworkNamespace::ruleset() const { return nftInside({"list", "ruleset"}); }

}  // namespace polycsi::reliability
