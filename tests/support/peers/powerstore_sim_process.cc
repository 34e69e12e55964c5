#include "powerstore_sim_process.hpp"

#include <csignal>
#include <fstream>
#include <sstream>

#include "fidelity_reference.hpp"  // tests/support

namespace polycsi::testing {

SimProcess::SimProcess(const std::string& binary, const std::vector<std::string>& arguments,
                       std::uint16_t restPort) {
  // A TLS peer that hangs up (a refused handshake) must be an error, not a fatal SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> argv = {binary, "--listen", "127.0.0.1:" + std::to_string(restPort),
                                   "--request-log", (log_dir_.path() / "requests.log").string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  // Starting tgtd and its first target takes a while on a loaded machine.
  child_ = std::make_unique<AnnouncedChild>(argv, "powerstore-sim listening on ",
                                            std::chrono::seconds(30));
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

std::uint16_t SimProcess::iscsiPort() const {
  if (iscsi_portal_.empty()) return 0;
  return static_cast<std::uint16_t>(std::stoi(iscsi_portal_.substr(iscsi_portal_.rfind(':') + 1)));
}

std::string arraySettings(const SimProcess& sim, const std::string& password,
                          const std::string& arrayExtra) {
  return "      arrays:\n        - endpoint: \"" + sim.endpoint() + "\"\n          globalID: \"" +
         kGlobalId + "\"\n          username: \"admin\"\n          password: \"" + password +
         "\"\n          isDefault: true\n" + arrayExtra;
}

std::string powerstoreBackendConfig(const SimProcess& sim, const std::string& caFile,
                                    const std::string& password, const std::string& arrayExtra) {
  const std::string iscsiPort =
      sim.iscsiPort() == 0 ? "" : "      iscsi_port: " + std::to_string(sim.iscsiPort()) + "\n";
  return "backends:\n  - name: ps\n    plugin: iscsi_powerstore\n    default: true\n"
         "    settings:\n      ca_file: " +
         caFile + "\n" + iscsiPort + arraySettings(sim, password, arrayExtra);
}

std::vector<std::string> SimProcess::requestsServed(const std::string& userAgent) const {
  std::vector<std::string> requests;
  std::ifstream log(log_dir_.path() / "requests.log");
  for (std::string line; std::getline(log, line);) {
    const std::size_t tab = line.find('\t');
    if (tab != std::string::npos && line.substr(tab + 1) == userAgent) {
      requests.push_back(line.substr(0, tab));
    }
  }
  return requests;
}

// tgtd gets time to end its sessions before SIGKILL.
int SimProcess::stop() { return child_->stop(std::chrono::seconds(15)); }

std::vector<std::string> callsTheReferenceDoesNotList(const SimProcess& sim,
                                                      const std::string& userAgent) {
  static const auto reference =
      FidelityReference::load("PowerStore REST", {"/api/rest/", {"limit", "offset"}});
  return reference.unlisted(sim.requestsServed(userAgent));
}

}  // namespace polycsi::testing
