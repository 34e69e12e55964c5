// runCommand: fork/exec with an argument vector (never a shell), output captured through one
// pipe, a deadline enforced with poll() on the pipe and a pidfd, SIGKILL to the child's whole
// process group on timeout.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "node/errno_status.hpp"
#include "node/mounter.hpp"

namespace polycsi::node {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxOutputBytes = 64 * 1024;
// Programs are looked up here, never in the caller's PATH, so the environment of the driver
// cannot redirect "mount" or "mkfs.ext4" to something else.
constexpr std::array<const char*, 6> kProgramDirectories = {
    "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"};
constexpr const char* kChildPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// Without a pidfd (very old kernels) the loop wakes up this often to check on the child.
constexpr milliseconds kReapPollInterval(50);
// After SIGKILL a process normally dies at once; one stuck in uninterruptible I/O may not.
constexpr milliseconds kKillGracePeriod(5000);

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string describeCommand(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) {
    if (!text.empty()) text += ' ';
    text += arg;
  }
  return text;
}

StatusOr<std::string> resolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  for (const char* dir : kProgramDirectories) {
    std::string candidate = std::string(dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return Status(Code::kInternal, "cannot start '" + name + "': not found in " + (kChildPath + 5));
}

int exitCodeOf(int waitStatus) {
  if (WIFEXITED(waitStatus)) return WEXITSTATUS(waitStatus);
  if (WIFSIGNALED(waitStatus)) return 128 + WTERMSIG(waitStatus);
  return -1;
}

void appendOutput(std::string& output, const char* data, size_t size) {
  size_t room = kMaxOutputBytes - std::min(kMaxOutputBytes, output.size());
  output.append(data, std::min(room, size));
}

// Reads what the pipe holds right now. Returns false once the pipe reached end of file.
bool drainPipe(int fd, std::string& output, bool blockingRead) {
  std::array<char, 8192> buffer;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      appendOutput(output, buffer.data(), static_cast<size_t>(n));
      if (blockingRead) return true;  // one read per poll() wake-up
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// Reaps `pid`, waiting at most `grace`. A child that will not die (stuck in the kernel) is
// left to a detached thread so the caller's deadline still holds and no zombie remains.
void reapKilledChild(pid_t pid, int pidfd, milliseconds grace) {
  if (pidfd >= 0) {
    pollfd entry{pidfd, POLLIN, 0};
    while (::poll(&entry, 1, static_cast<int>(grace.count())) < 0 && errno == EINTR) {
    }
  }
  int waitStatus = 0;
  pid_t reaped = ::waitpid(pid, &waitStatus, pidfd >= 0 ? WNOHANG : 0);
  if (reaped == 0) {
    std::thread([pid] {
      int ignored = 0;
      while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  }
}

// Runs in the forked child: only async-signal-safe calls from here until execve.
[[noreturn]] void execChild(const char* program, char* const argv[], char* const envp[],
                            int stdinFd, int outputFd, int execErrorFd) {
  ::setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction defaultAction {};
  defaultAction.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &defaultAction, nullptr);
  if (::dup2(stdinFd, STDIN_FILENO) < 0 || ::dup2(outputFd, STDOUT_FILENO) < 0 ||
      ::dup2(outputFd, STDERR_FILENO) < 0) {
    int err = errno;
    (void)!::write(execErrorFd, &err, sizeof(err));
    ::_exit(127);
  }
  // Every other descriptor the driver holds (sockets, files of other threads) must not leak
  // into the program; close-on-exec keeps execErrorFd usable until execve succeeds.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(program, argv, envp);
  int err = errno;
  (void)!::write(execErrorFd, &err, sizeof(err));
  ::_exit(127);
}

}  // namespace

StatusOr<CommandResult> runCommand(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout) {
  if (argv.empty() || argv[0].empty()) {
    return Status(Code::kInvalidArgument, "runCommand: empty command");
  }
  for (const std::string& arg : argv) {
    if (arg.find('\0') != std::string::npos) {
      return Status(Code::kInvalidArgument, "runCommand: argument contains a NUL byte");
    }
  }
  if (timeout.count() <= 0) {
    return Status(Code::kInvalidArgument, "runCommand: timeout must be positive");
  }
  const std::string commandText = describeCommand(argv);
  StatusOr<std::string> program = resolveProgram(argv[0]);
  if (!program.isOk()) return program.status();

  // Everything the child needs is built before fork(): after it only async-signal-safe calls.
  std::vector<char*> childArgv;
  for (const std::string& arg : argv) childArgv.push_back(const_cast<char*>(arg.c_str()));
  childArgv.push_back(nullptr);
  std::string localeVar = "LC_ALL=C";
  std::string pathVar = kChildPath;
  std::array<char*, 3> childEnv = {localeVar.data(), pathVar.data(), nullptr};

  int outputPipe[2];
  if (::pipe2(outputPipe, O_CLOEXEC) != 0) return statusFromErrno(errno, "runCommand: pipe");
  FileDescriptor outputRead(outputPipe[0]);
  FileDescriptor outputWrite(outputPipe[1]);
  int execErrorPipe[2];
  if (::pipe2(execErrorPipe, O_CLOEXEC) != 0) return statusFromErrno(errno, "runCommand: pipe");
  FileDescriptor execErrorRead(execErrorPipe[0]);
  FileDescriptor execErrorWrite(execErrorPipe[1]);
  FileDescriptor devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devNull.valid()) return statusFromErrno(errno, "runCommand: open /dev/null");

  const Clock::time_point deadline = Clock::now() + timeout;
  pid_t pid = ::fork();
  if (pid < 0) return statusFromErrno(errno, "cannot start '" + commandText + "': fork");
  if (pid == 0) {
    execChild(program->c_str(), childArgv.data(), childEnv.data(), devNull.get(), outputWrite.get(),
              execErrorWrite.get());
  }
  // Also set here so a kill right after fork() already reaches the whole group.
  ::setpgid(pid, pid);
  outputWrite.reset();
  execErrorWrite.reset();
  devNull.reset();

  int execError = 0;
  ssize_t got;
  while ((got = ::read(execErrorRead.get(), &execError, sizeof(execError))) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof(execError))) {
    int ignored = 0;
    while (::waitpid(pid, &ignored, 0) < 0 && errno == EINTR) {
    }
    return Status(Code::kInternal, "cannot start '" + commandText +
                                       "': " + std::generic_category().message(execError));
  }

  // Called through syscall(): glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
  FileDescriptor pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  std::string output;
  bool outputOpen = true;
  bool exited = false;
  int waitStatus = 0;
  while (true) {
    if (!exited) {
      pid_t reaped = ::waitpid(pid, &waitStatus, WNOHANG);
      if (reaped == pid) exited = true;
    }
    if (exited) {
      // The program is gone; a descendant may still hold the pipe, so take what is buffered
      // and stop instead of waiting for an end of file that may never come.
      if (outputOpen) {
        ::fcntl(outputRead.get(), F_SETFL, O_NONBLOCK);
        drainPipe(outputRead.get(), output, false);
      }
      return CommandResult{exitCodeOf(waitStatus), std::move(output)};
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      reapKilledChild(pid, pidfd.get(), kKillGracePeriod);
      std::string message = "'" + commandText + "' did not finish within " +
                            std::to_string(timeout.count()) + " ms and was killed";
      if (!output.empty()) message += "; output so far: " + output.substr(0, 1024);
      return Status(Code::kDeadlineExceeded, message);
    }
    auto wait = std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1);
    if (!pidfd.valid()) wait = std::min(wait, kReapPollInterval);
    std::array<pollfd, 2> fds{};
    nfds_t count = 0;
    if (outputOpen) fds[count++] = pollfd{outputRead.get(), POLLIN, 0};
    if (pidfd.valid()) fds[count++] = pollfd{pidfd.get(), POLLIN, 0};
    int ready = ::poll(fds.data(), count, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      int err = errno;
      ::kill(-pid, SIGKILL);
      reapKilledChild(pid, pidfd.get(), kKillGracePeriod);
      return statusFromErrno(err, "runCommand: poll while running '" + commandText + "'");
    }
    if (ready > 0 && outputOpen && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      outputOpen = drainPipe(outputRead.get(), output, true);
    }
  }
}

}  // namespace polycsi::node
