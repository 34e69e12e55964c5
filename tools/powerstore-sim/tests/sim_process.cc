#include "sim_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace powerstore_sim::testing {

SimProcess::SimProcess(const std::string& binary, const std::vector<std::string>& arguments) {
  // A TLS peer that hangs up (a refused handshake) must be an error, not a fatal SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> argv_strings = {binary, "--listen", "127.0.0.1:0"};
  argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // The simulator must not outlive a test that crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];

  const std::string marker = "powerstore-sim listening on ";
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{stdout_fd_, POLLIN, 0};
    if (::poll(&fd, 1, 200) <= 0) continue;
    char buffer[256];
    const ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    const std::size_t at = text.find(marker);
    const std::size_t newline = at == std::string::npos ? at : text.find('\n', at);
    if (newline != std::string::npos) {
      std::istringstream line(text.substr(at + marker.size(), newline - at - marker.size()));
      std::string address;
      std::string word;
      std::string portal;
      line >> address >> word >> portal;
      port_ = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
      if (portal != "off") iscsi_portal_ = portal;
      return;
    }
  }
  stop();
  throw std::runtime_error("powerstore-sim did not report its port; output: " + text);
}

SimProcess::~SimProcess() { stop(); }

std::string SimProcess::endpoint() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/api/rest";
}

int SimProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pid_ = -1;
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  stdout_fd_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace powerstore_sim::testing
