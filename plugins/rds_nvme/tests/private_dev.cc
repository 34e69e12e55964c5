#include "private_dev.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <exception>

namespace polycsi::rds_nvme::testing {
namespace {

void writeAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// The first byte of the child's message says what follows: 'O' output, 'S' setup problem.
[[noreturn]] void childMain(int fd, const std::function<std::string()>& body) {
  if (::unshare(CLONE_NEWNS) != 0) {
    writeAll(fd, std::string("Sunshare(CLONE_NEWNS): ") + std::strerror(errno));
    ::_exit(0);
  }
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    writeAll(fd, std::string("Smaking mounts private: ") + std::strerror(errno));
    ::_exit(0);
  }
  if (::mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m") != 0) {
    writeAll(fd, std::string("Smounting a tmpfs on /dev: ") + std::strerror(errno));
    ::_exit(0);
  }
  std::string output;
  try {
    output = body();
  } catch (const std::exception& e) {
    output = std::string("EXCEPTION: ") + e.what();
  } catch (...) {
    output = "EXCEPTION: unknown";
  }
  writeAll(fd, "O" + output);
  ::_exit(0);
}

}  // namespace

PrivateDevRun runWithPrivateDev(const std::function<std::string()>& body) {
  PrivateDevRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    run.problem = std::string("pipe: ") + std::strerror(errno);
    return run;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    run.problem = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return run;
  }
  if (pid == 0) {
    ::close(fds[0]);
    childMain(fds[1], body);
  }
  ::close(fds[1]);
  std::string message;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool timedOut = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timedOut = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    message.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (timedOut) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timedOut) {
    run.problem = "the child did not finish within 120 s";
  } else if (message.empty()) {
    run.problem = "the child sent nothing (exit status " + std::to_string(status) + ")";
  } else if (message[0] == 'S') {
    run.unavailable = true;
    run.problem = message.substr(1);
  } else {
    run.ran = true;
    run.output = message.substr(1);
  }
  return run;
}

}  // namespace polycsi::rds_nvme::testing
