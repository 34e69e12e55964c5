#include "announced_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace polycsi::testing {

AnnouncedChild::AnnouncedChild(const std::vector<std::string>& argv, const std::string& marker,
                               std::chrono::seconds timeout) {
  if (argv.empty()) throw std::invalid_argument("AnnouncedChild: empty argv");
  int pipeFds[2];
  if (::pipe2(pipeFds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::vector<std::string> args = argv;
  std::vector<char*> rawArgs;
  for (std::string& arg : args) rawArgs.push_back(arg.data());
  rawArgs.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(pipeFds[0]);
    ::close(pipeFds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    // The child must not outlive a test that crashes; the parent may already be gone.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(pipeFds[1], STDOUT_FILENO);
    ::execv(rawArgs[0], rawArgs.data());
    ::_exit(127);
  }
  ::close(pipeFds[1]);
  stdoutFd_ = pipeFds[0];

  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{stdoutFd_, POLLIN, 0};
    if (::poll(&fd, 1, 200) <= 0) continue;
    char buffer[512];
    const ssize_t n = ::read(stdoutFd_, buffer, sizeof buffer);
    if (n <= 0) break;  // the child closed stdout: it exited before announcing
    text.append(buffer, static_cast<std::size_t>(n));
    const std::size_t at = text.find(marker);
    const std::size_t newline = at == std::string::npos ? at : text.find('\n', at);
    if (newline != std::string::npos) {
      announcement_ = text.substr(at + marker.size(), newline - at - marker.size());
      return;
    }
  }
  stop();
  throw std::runtime_error(argv[0] + " did not announce '" + marker + "'; it printed: " + text);
}

AnnouncedChild::~AnnouncedChild() { stop(); }

int AnnouncedChild::port() const {
  const std::string address = announcement_.substr(0, announcement_.find(' '));
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("no port in '" + announcement_ + "'");
  return std::stoi(address.substr(colon + 1));
}

int AnnouncedChild::stop(std::chrono::seconds grace) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  if (stdoutFd_ >= 0) ::close(stdoutFd_);
  stdoutFd_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace polycsi::testing
