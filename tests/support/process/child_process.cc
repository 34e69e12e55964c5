#include "child_process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "child_lifetime.hpp"

extern char** environ;

namespace polycsi::testing {
namespace {

[[noreturn]] void throwErrno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Only async-signal-safe calls between fork and exec: the test process has other threads.
[[noreturn]] void childFails(const char* what, int status) {
  const char* reason = std::strerror(errno);
  (void)!::write(2, what, std::strlen(what));
  (void)!::write(2, ": ", 2);
  (void)!::write(2, reason, std::strlen(reason));
  (void)!::write(2, "\n", 1);
  ::_exit(status);
}

// `program` itself when it names a path, else the first executable of that name in PATH.
std::string resolveProgram(const std::string& program) {
  if (program.empty()) throw std::invalid_argument("ChildProcess: empty program name");
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  throw std::runtime_error("'" + program + "' is not installed (not found in PATH)");
}

bool isUnset(const char* entry, const std::vector<std::string>& unsetEnv) {
  for (const std::string& name : unsetEnv) {
    if (std::strncmp(entry, name.c_str(), name.size()) == 0 && entry[name.size()] == '=')
      return true;
  }
  return false;
}

struct Pipe {
  int read = -1;
  int write = -1;
  void open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throwErrno("pipe2");
    read = fds[0];
    write = fds[1];
  }
  void closeBoth() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
    read = write = -1;
  }
};

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ChildProcess::ChildProcess(const ChildOptions& options) {
  if (options.argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  // Everything the child needs is prepared before fork.
  const std::string program = resolveProgram(options.argv[0]);
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> env;
  for (char** entry = environ; *entry != nullptr; ++entry)
    if (!isUnset(*entry, options.unsetEnv)) env.push_back(*entry);
  env.push_back(nullptr);
  const std::string output = options.outputPath.empty() ? "/dev/null" : options.outputPath;
  const int netns = options.networkNamespaceFd.value_or(-1);
  const char* runDir = options.privateRunDir.empty() ? nullptr : options.privateRunDir.c_str();

  Pipe out, err;
  if (options.pipeStdout) out.open();
  if (options.pipeStderr && !options.stderrWithStdout && !options.keepStderr) {
    try {
      err.open();
    } catch (...) {
      out.closeBoth();
      throw;
    }
  }
  const ForkingThread parent = ForkingThread::current();
  pid_ = ::fork();
  if (pid_ < 0) {
    out.closeBoth();
    err.closeBoth();
    throwErrno("fork");
  }
  if (pid_ == 0) {
    killWhenTestProcessEnds(parent);
    // Its own process group: stop() reaches what the child starts, and a terminal's signals
    // meant for the test do not.
    ::setpgid(0, 0);
    const int file = ::open(output.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (file < 0) childFails("open of the output file", 126);
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) ::dup2(in, 0);
    ::dup2(out.write >= 0 ? out.write : file, 1);
    if (options.stderrWithStdout) {
      ::dup2(1, 2);
    } else if (!options.keepStderr) {
      ::dup2(err.write >= 0 ? err.write : file, 2);
    }
    // Nothing of the test process (gRPC sockets, listeners) leaks into a long-lived daemon.
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
    if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) childFails("setns(CLONE_NEWNET)", 126);
    if (runDir != nullptr) {
      if (::unshare(CLONE_NEWNS) != 0) childFails("unshare(CLONE_NEWNS)", 126);
      // Private propagation first, so the bind mount below never reaches this machine's /run.
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        childFails("mount --make-rprivate /", 126);
      if (::mount(runDir, "/run", nullptr, MS_BIND, nullptr) != 0)
        childFails("bind mount of the private /run", 126);
    }
    ::execve(program.c_str(), argv.data(), env.data());
    childFails("execve", 127);
  }
  // Also set here, so the group exists before the parent might signal it.
  ::setpgid(pid_, pid_);
  if (out.write >= 0) ::close(out.write);
  if (err.write >= 0) ::close(err.write);
  stdoutFd_ = out.read;
  stderrFd_ = err.read;
}

ChildProcess::~ChildProcess() { stop(); }

int ChildProcess::reap(bool block) {
  // Seen first without reaping: while the child is an unreaped zombie its pid, and so its
  // process group's id, cannot be reused, and the SIGKILL below reaches only what it started.
  siginfo_t info{};
  const int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
  int status = -1;
  for (;;) {
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, flags) == 0) break;
    if (errno == EINTR) continue;
    info.si_pid = pid_;  // not our child any more (reaped elsewhere): nothing to report
    status = -2;
    break;
  }
  if (info.si_pid == 0) return -1;  // still running
  if (status != -2) {
    // Whatever the child started and left behind in its group ends with it.
    ::kill(-pid_, SIGKILL);
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  status_ = status < 0 ? -1 : decodeStatus(status);
  endedBySignal_ = status >= 0 && WIFSIGNALED(status);
  pid_ = -1;
  if (stdoutFd_ >= 0) ::close(stdoutFd_);
  if (stderrFd_ >= 0) ::close(stderrFd_);
  stdoutFd_ = stderrFd_ = -1;
  return status_;
}

bool ChildProcess::hasExited() {
  if (pid_ <= 0) return true;
  reap(/*block=*/false);
  return pid_ <= 0;
}

int ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (hasExited()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return kill();
}

int ChildProcess::kill() {
  if (pid_ <= 0) return status_;
  // The group's id is the child's pid, still ours while the child is not reaped: this reaches
  // the child and what it started, nothing else.
  if (::kill(-pid_, SIGKILL) != 0) ::kill(pid_, SIGKILL);
  return reap(/*block=*/true);
}

CommandResult runCommand(const std::vector<std::string>& argv, const CommandOptions& options) {
  ChildOptions childOptions;
  childOptions.argv = argv;
  childOptions.pipeStdout = true;
  childOptions.pipeStderr = !options.mergeStderr;
  childOptions.stderrWithStdout = options.mergeStderr;
  childOptions.unsetEnv = options.unsetEnv;
  childOptions.networkNamespaceFd = options.networkNamespaceFd;
  ChildProcess child(childOptions);

  CommandResult result;
  pollfd fds[2] = {{child.stdoutFd(), POLLIN, 0}, {child.stderrFd(), POLLIN, 0}};
  std::string* sinks[2] = {&result.output, &result.errorOutput};
  int open = 0;
  for (const pollfd& fd : fds) open += fd.fd >= 0 ? 1 : 0;
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  while (open > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throwErrno("poll");
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;  // closed by the child; the ChildProcess owns the descriptor
        --open;
      }
    }
  }
  // The child may close its output and keep running; the deadline covers that too.
  while (!child.hasExited()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timedOut = true;
      child.kill();
      return result;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const int status = child.stop();
  result.exitStatus = child.endedBySignal() ? -1 : status;
  return result;
}

CommandResult runProgram(const std::string& program, const std::vector<std::string>& arguments,
                         const CommandOptions& options) {
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  return runCommand(argv, options);
}

}  // namespace polycsi::testing
