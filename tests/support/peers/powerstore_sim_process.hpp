// Runs the real powerstore-sim binary as a child process for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "announced_child.hpp"  // tests/support
#include "temp_directory.hpp"   // tests/support

namespace polycsi::testing {

// The array id tests give the simulator (--global-id), as Dell's docs write one.
inline constexpr char kGlobalId[] = "PS03455f439da7";

// Starts `binary` with `arguments` plus `--listen 127.0.0.1:<restPort>` (0: a free port) and a
// request log of its own, waits (up to 30 s) for the
// "powerstore-sim listening on ADDRESS:PORT iscsi ADDRESS:PORT" line. The destructor stops
// the child by its pid (SIGTERM, SIGKILL after 15 s). Not thread-safe.
class SimProcess {
 public:
  SimProcess(const std::string& binary, const std::vector<std::string>& arguments,
             std::uint16_t restPort = 0);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  // tgtd's iSCSI portal, "127.0.0.1:PORT"; empty with --no-tgtd.
  const std::string& iscsiPortal() const { return iscsi_portal_; }
  // The port of iscsiPortal(); 0 with --no-tgtd.
  std::uint16_t iscsiPort() const;
  // "https://127.0.0.1:PORT/api/rest"
  std::string endpoint() const;
  // Sends SIGTERM and waits; returns the exit status (or 128+signal).
  int stop();
  // Every request the simulator was sent so far by a client that names itself `userAgent`,
  // as "METHOD target" (the target as sent: path and raw query), in arrival order.
  std::vector<std::string> requestsServed(const std::string& userAgent) const;

 private:
  TempDir log_dir_{"powerstore-sim-requests"};
  std::unique_ptr<AnnouncedChild> child_;
  std::uint16_t port_ = 0;
  std::string iscsi_portal_;
};

// The iscsi_powerstore plugin's `arrays` setting (indented for a backend's `settings:`) with
// `sim` as the one, default array (kGlobalId, user admin, `password`), `arrayExtra` appended to
// its entry (further `          key: value` lines).
std::string arraySettings(const SimProcess& sim, const std::string& password,
                          const std::string& arrayExtra = "");
// A driver config's `backends:` with one default backend `ps` of the iscsi_powerstore plugin on
// `sim`: `caFile`, the port of the simulator's tgtd (the REST API names portal addresses only
// and arrays listen on 3260; none with --no-tgtd) and arraySettings(sim, password, arrayExtra).
std::string powerstoreBackendConfig(const SimProcess& sim, const std::string& caFile,
                                    const std::string& password,
                                    const std::string& arrayExtra = "");

// The requests `sim` was sent by the client named `userAgent` that the "PowerStore REST"
// section of docs/fidelity.md does not list (collection GETs may add the paging keys `limit`
// and `offset`). Empty when every call the client made is one a public source defines.
std::vector<std::string> callsTheReferenceDoesNotList(const SimProcess& sim,
                                                      const std::string& userAgent);

}  // namespace polycsi::testing
