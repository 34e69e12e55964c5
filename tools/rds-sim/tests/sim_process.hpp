// Runs the real rds-sim binary as a child process for end-to-end tests.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "announced_child.hpp"  // tests/support

namespace rds_sim::testing {

// Starts `binary` with `arguments` plus `--listen 127.0.0.1:0`, waits (up to 20 s) for its
// "rds-sim listening on ADDRESS:PORT" line and records the port. The destructor sends SIGTERM
// to the child's pid and waits for it (SIGKILL after 10 s). Not thread-safe.
class SimProcess {
 public:
  SimProcess(const std::string& binary, const std::vector<std::string>& arguments);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }

  // Sends SIGTERM and waits; returns the exit status (or 128+signal).
  int stop();

 private:
  std::unique_ptr<polycsi::testing::AnnouncedChild> child_;
  std::uint16_t port_ = 0;
};

}  // namespace rds_sim::testing
