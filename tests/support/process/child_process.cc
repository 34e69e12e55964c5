#include "test_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace polycsi::nfs::testing {
namespace {

// Only async-signal-safe calls between fork and exec: the test process has other threads.
[[noreturn]] void childFails(int fd, const char* what) {
  const char* reason = std::strerror(errno);
  (void)!::write(fd, what, std::strlen(what));
  (void)!::write(fd, ": ", 2);
  (void)!::write(fd, reason, std::strlen(reason));
  (void)!::write(fd, "\n", 1);
  ::_exit(126);
}

}  // namespace

pid_t spawnProcess(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty() || options.argv[0][0] != '/')
    throw std::runtime_error("spawnProcess needs an absolute program path");
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string output = options.outputPath.empty() ? "/dev/null" : options.outputPath;
  const int netns = options.networkNamespaceFd.value_or(-1);
  const char* runDir = options.privateRunDir.empty() ? nullptr : options.privateRunDir.c_str();

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;

  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  int out = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) ::_exit(126);
  int in = ::open("/dev/null", O_RDONLY);
  if (in >= 0) ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  // Nothing of the test process (gRPC sockets, listeners) leaks into a long-lived daemon.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) childFails(2, "setns(CLONE_NEWNET)");
  if (runDir != nullptr) {
    if (::unshare(CLONE_NEWNS) != 0) childFails(2, "unshare(CLONE_NEWNS)");
    // Private propagation first, so the bind mount below never reaches this machine's /run.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      childFails(2, "mount --make-rprivate /");
    if (::mount(runDir, "/run", nullptr, MS_BIND, nullptr) != 0)
      childFails(2, "bind mount of the private /run");
  }
  ::execv(argv[0], argv.data());
  childFails(2, "execv");
}

bool hasExited(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == pid;
}

void stopProcess(pid_t& pid, std::chrono::seconds grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  // A stopped process keeps SIGTERM pending until it runs again.
  ::kill(pid, SIGCONT);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (hasExited(pid)) {
      pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  pid = -1;
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout) {
  char pattern[] = "/tmp/polycsi-nfs-command-XXXXXX";
  int fd = ::mkstemp(pattern);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  SpawnOptions options;
  options.argv = argv;
  options.outputPath = pattern;
  CommandResult result;
  pid_t pid = spawnProcess(options);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) result.exitStatus = WEXITSTATUS(status);
  std::ifstream in(pattern);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  ::unlink(pattern);
  return result;
}

}  // namespace polycsi::nfs::testing
