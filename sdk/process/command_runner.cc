// runCommand: fork/exec with an argument vector (never a shell), output captured through one
// pipe, a deadline enforced with poll() on the pipe and a pidfd, SIGKILL to the child's whole
// process group on timeout. Split in steps: check the request, spawn the child, wait for it.
// Standard input given by the caller goes through a socket pair, not a pipe: send() with
// MSG_NOSIGNAL reports a program that stopped reading as EPIPE instead of raising SIGPIPE in
// the driver, without touching the process's signal dispositions.
#include "polycsi/process/command_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace polycsi::process {
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
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
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

// A started program: its pid (also its process group), a pidfd when the kernel has them, the
// read end of its output pipe and, when the caller gives standard input, our end of the socket
// that is its standard input.
struct Child {
  pid_t pid = -1;
  FileDescriptor pidfd;
  FileDescriptor output;
  FileDescriptor input;
};

Status errnoStatus(int err, const std::string& what) {
  return Status(Code::kInternal, what + ": " + std::generic_category().message(err));
}

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

// The program to execute, or why the request is refused.
StatusOr<std::string> checkRequest(const std::vector<std::string>& argv, milliseconds timeout,
                                   size_t inputBytes) {
  if (inputBytes > kMaxCommandInputBytes)
    return Status(Code::kInvalidArgument, "runCommand: standard input of " +
                                              std::to_string(inputBytes) + " bytes exceeds " +
                                              std::to_string(kMaxCommandInputBytes));
  if (argv.empty() || argv[0].empty())
    return Status(Code::kInvalidArgument, "runCommand: empty command");
  for (const std::string& arg : argv)
    if (arg.find('\0') != std::string::npos)
      return Status(Code::kInvalidArgument, "runCommand: argument contains a NUL byte");
  if (timeout.count() <= 0)
    return Status(Code::kInvalidArgument, "runCommand: timeout must be positive");
  return resolveProgram(argv[0]);
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

// SIGKILL to the child's whole process group (and the child itself, should it have left the
// group), then reaps it.
void killChild(const Child& child) {
  ::kill(-child.pid, SIGKILL);
  ::kill(child.pid, SIGKILL);
  reapKilledChild(child.pid, child.pidfd.get(), kKillGracePeriod);
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
  // Every other descriptor the process holds (sockets, files of other threads) must not leak
  // into the program; close-on-exec keeps execErrorFd usable until execve succeeds.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(program, argv, envp);
  int err = errno;
  (void)!::write(execErrorFd, &err, sizeof(err));
  ::_exit(127);
}

// Forks and executes `program`; returns once execve succeeded (or with why it did not). Its
// standard input is /dev/null, or a socket whose other end is Child::input when `withInput`.
StatusOr<Child> spawnChild(const std::string& program, const std::vector<std::string>& argv,
                           const std::string& commandText, bool withInput) {
  // Everything the child needs is built before fork(): after it only async-signal-safe calls.
  std::vector<char*> childArgv;
  for (const std::string& arg : argv) childArgv.push_back(const_cast<char*>(arg.c_str()));
  childArgv.push_back(nullptr);
  std::string localeVar = "LC_ALL=C";
  std::string pathVar = kChildPath;
  std::array<char*, 3> childEnv = {localeVar.data(), pathVar.data(), nullptr};

  int outputPipe[2];
  if (::pipe2(outputPipe, O_CLOEXEC) != 0) return errnoStatus(errno, "runCommand: pipe");
  FileDescriptor outputRead(outputPipe[0]);
  FileDescriptor outputWrite(outputPipe[1]);
  int execErrorPipe[2];
  if (::pipe2(execErrorPipe, O_CLOEXEC) != 0) return errnoStatus(errno, "runCommand: pipe");
  FileDescriptor execErrorRead(execErrorPipe[0]);
  FileDescriptor execErrorWrite(execErrorPipe[1]);
  FileDescriptor childInput;
  FileDescriptor inputWrite;
  if (withInput) {
    int inputPair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, inputPair) != 0)
      return errnoStatus(errno, "runCommand: socketpair");
    inputWrite.reset(inputPair[0]);
    childInput.reset(inputPair[1]);
  } else {
    childInput.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!childInput.valid()) return errnoStatus(errno, "runCommand: open /dev/null");
  }

  pid_t pid = ::fork();
  if (pid < 0) return errnoStatus(errno, "cannot start '" + commandText + "': fork");
  if (pid == 0)
    execChild(program.c_str(), childArgv.data(), childEnv.data(), childInput.get(),
              outputWrite.get(), execErrorWrite.get());
  // Also set here so a kill right after fork() already reaches the whole group.
  ::setpgid(pid, pid);
  outputWrite.reset();
  execErrorWrite.reset();
  childInput.reset();

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
  Child child;
  child.pid = pid;
  // Called through syscall(): glibc 2.36's <sys/pidfd.h> lacks C linkage for C++.
  child.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  child.output = std::move(outputRead);
  child.input = std::move(inputWrite);
  return StatusOr<Child>(std::move(child));
}

// Sends what the socket takes now of `input` from `written` on, without blocking. Closes
// child.input (the program sees end of file) once all is sent, or when the program no longer
// reads (EPIPE, ECONNRESET): what it did with a short input is in its exit code.
void feedInput(Child& child, std::string_view input, size_t& written) {
  while (child.input.valid() && written < input.size()) {
    ssize_t n = ::send(child.input.get(), input.data() + written, input.size() - written,
                       MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    child.input.reset();
    return;
  }
  if (child.input.valid()) {
    ::shutdown(child.input.get(), SHUT_WR);
    child.input.reset();
  }
}

// Collects the child's output, and feeds it `input`, until it exits or `deadline` passes (then
// kills its group).
StatusOr<CommandResult> waitForChild(Child& child, std::string_view input,
                                     Clock::time_point deadline, milliseconds timeout,
                                     const std::string& commandText) {
  std::string output;
  bool outputOpen = true;
  int waitStatus = 0;
  size_t written = 0;
  while (true) {
    feedInput(child, input, written);
    if (::waitpid(child.pid, &waitStatus, WNOHANG) == child.pid) {
      // The program is gone; a descendant may still hold the pipe, so take what is buffered
      // and stop instead of waiting for an end of file that may never come.
      if (outputOpen) {
        ::fcntl(child.output.get(), F_SETFL, O_NONBLOCK);
        drainPipe(child.output.get(), output, false);
      }
      return CommandResult{exitCodeOf(waitStatus), std::move(output)};
    }
    const Clock::time_point now = Clock::now();
    if (now >= deadline) {
      killChild(child);
      std::string message = "'" + commandText + "' did not finish within " +
                            std::to_string(timeout.count()) + " ms and was killed";
      if (!output.empty()) message += "; output so far: " + output.substr(0, 1024);
      return Status(Code::kDeadlineExceeded, message);
    }
    auto wait = std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1);
    if (!child.pidfd.valid()) wait = std::min(wait, kReapPollInterval);
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    int outputIndex = -1;
    if (outputOpen) {
      outputIndex = static_cast<int>(count);
      fds[count++] = pollfd{child.output.get(), POLLIN, 0};
    }
    if (child.pidfd.valid()) fds[count++] = pollfd{child.pidfd.get(), POLLIN, 0};
    // Writable input wakes the loop, which feeds it at its top.
    if (child.input.valid()) fds[count++] = pollfd{child.input.get(), POLLOUT, 0};
    int ready = ::poll(fds.data(), count, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) {
      int err = errno;
      killChild(child);
      return errnoStatus(err, "runCommand: poll while running '" + commandText + "'");
    }
    if (ready > 0 && outputIndex >= 0 && (fds[outputIndex].revents & (POLLIN | POLLHUP | POLLERR)))
      outputOpen = drainPipe(child.output.get(), output, true);
  }
}

}  // namespace

namespace {

StatusOr<CommandResult> run(const std::vector<std::string>& argv,
                            std::optional<std::string_view> input, milliseconds timeout) {
  StatusOr<std::string> program = checkRequest(argv, timeout, input ? input->size() : 0);
  if (!program.isOk()) return program.status();
  const std::string commandText = describeCommand(argv);
  // The deadline counts from before the fork, so starting the program is within it too.
  const Clock::time_point deadline = Clock::now() + timeout;
  StatusOr<Child> child = spawnChild(*program, argv, commandText, input.has_value());
  if (!child.isOk()) return child.status();
  return waitForChild(*child, input.value_or(std::string_view()), deadline, timeout, commandText);
}

}  // namespace

StatusOr<CommandResult> runCommand(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout) {
  return run(argv, std::nullopt, timeout);
}

StatusOr<CommandResult> runCommandWithInput(const std::vector<std::string>& argv,
                                            std::string_view standardInput,
                                            std::chrono::milliseconds timeout) {
  return run(argv, standardInput, timeout);
}

CommandResult runCommandOrThrow(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) {
  StatusOr<CommandResult> result = runCommand(argv, timeout);
  if (!result.isOk()) throw Error(result.status().code(), result.status().message());
  return std::move(*result);
}

}  // namespace polycsi::process
