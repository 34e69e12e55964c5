// Runs the real powerstore-sim binary as a child process for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "announced_child.hpp"  // tests/support
#include "temp_directory.hpp"   // tests/support

namespace powerstore_sim::testing {

// Starts `binary` with `arguments` plus `--listen 127.0.0.1:0` and a request log of its own,
// waits (up to 30 s) for the
// "powerstore-sim listening on ADDRESS:PORT iscsi ADDRESS:PORT" line. The destructor stops
// the child by its pid (SIGTERM, SIGKILL after 15 s). Not thread-safe.
class SimProcess {
 public:
  SimProcess(const std::string& binary, const std::vector<std::string>& arguments);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  std::uint16_t port() const { return port_; }
  // tgtd's iSCSI portal, "127.0.0.1:PORT"; empty with --no-tgtd.
  const std::string& iscsiPortal() const { return iscsi_portal_; }
  // "https://127.0.0.1:PORT/api/rest"
  std::string endpoint() const;
  // Sends SIGTERM and waits; returns the exit status (or 128+signal).
  int stop();
  // Every request the simulator was sent so far by a client that names itself `userAgent`,
  // as "METHOD target" (the target as sent: path and raw query), in arrival order.
  std::vector<std::string> requestsServed(const std::string& userAgent) const;

 private:
  polycsi::testing::TempDir log_dir_{"powerstore-sim-requests"};
  std::unique_ptr<polycsi::testing::AnnouncedChild> child_;
  std::uint16_t port_ = 0;
  std::string iscsi_portal_;
};

// The requests `sim` was sent by the client named `userAgent` that the "PowerStore REST"
// section of docs/fidelity.md does not list (collection GETs may add the paging keys `limit`
// and `offset`). Empty when every call the client made is one a public source defines.
std::vector<std::string> callsTheReferenceDoesNotList(const SimProcess& sim,
                                                      const std::string& userAgent);

}  // namespace powerstore_sim::testing
