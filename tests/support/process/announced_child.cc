#include "announced_child.hpp"

#include <poll.h>
#include <unistd.h>

#include <stdexcept>

namespace polycsi::testing {

AnnouncedChild::AnnouncedChild(const std::vector<std::string>& argv, const std::string& marker,
                               std::chrono::seconds timeout, const std::string& outputPath) {
  if (argv.empty()) throw std::invalid_argument("AnnouncedChild: empty argv");
  ChildOptions options;
  options.argv = argv;
  options.outputPath = outputPath;
  options.pipeStdout = true;
  options.keepStderr = outputPath.empty();
  child_ = std::make_unique<ChildProcess>(options);

  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd fd{child_->stdoutFd(), POLLIN, 0};
    if (::poll(&fd, 1, 200) <= 0) continue;
    char buffer[512];
    const ssize_t n = ::read(child_->stdoutFd(), buffer, sizeof buffer);
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
  if (!child_->running()) return -1;
  return child_->stop(grace);
}

}  // namespace polycsi::testing
