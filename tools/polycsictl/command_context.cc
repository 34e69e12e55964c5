#include "command_context.hpp"

#include <stdexcept>

#include "duration.hpp"

namespace polycsi::csictl {

int CommandContext::runSelected() {
  if (!action_) throw std::invalid_argument("no command given (see --help)");
  return action_(*this);
}

CsiConnection& CommandContext::connection() {
  if (!connection_) {
    if (options_.endpoint.empty()) {
      throw std::invalid_argument("--endpoint (or CSI_ENDPOINT) is required");
    }
    std::chrono::milliseconds timeout;
    try {
      timeout = parseDuration(options_.timeout);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("--timeout: ") + error.what());
    }
    connection_ = std::make_unique<CsiConnection>(options_.endpoint, timeout);
  }
  return *connection_;
}

}  // namespace polycsi::csictl
