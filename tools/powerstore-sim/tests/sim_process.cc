#include "sim_process.hpp"

#include <csignal>
#include <sstream>

namespace powerstore_sim::testing {

SimProcess::SimProcess(const std::string& binary, const std::vector<std::string>& arguments) {
  // A TLS peer that hangs up (a refused handshake) must be an error, not a fatal SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> argv = {binary, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  // Starting tgtd and its first target takes a while on a loaded machine.
  child_ = std::make_unique<polycsi::testing::AnnouncedChild>(
      argv, "powerstore-sim listening on ", std::chrono::seconds(30));
  port_ = static_cast<std::uint16_t>(child_->port());
  // "ADDRESS:PORT iscsi PORTAL", where PORTAL is "off" with --no-tgtd.
  std::istringstream line(child_->announcement());
  std::string address, word, portal;
  line >> address >> word >> portal;
  if (portal != "off") iscsi_portal_ = portal;
}

SimProcess::~SimProcess() = default;

std::string SimProcess::endpoint() const {
  return "https://127.0.0.1:" + std::to_string(port_) + "/api/rest";
}

// tgtd gets time to end its sessions before SIGKILL.
int SimProcess::stop() { return child_->stop(std::chrono::seconds(15)); }

}  // namespace powerstore_sim::testing
