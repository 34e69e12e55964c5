// Starts `polycsi serve` for the benchmarks and measures the time from exec to the first
// served Probe. Unlike the integration tests' helper it polls the socket tightly (every
// 0.2 ms) so that start-up times of a few milliseconds are measurable, and it leaves logging
// at info so the log is not what is measured.
//
// OWNERSHIP: owns the child process; the destructor kills it (by pid) if it still runs.
// THREADING: one thread drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace polycsi::bench {

struct DriverCommand {
  std::string binary;  // polycsi
  std::string config;  // configuration file
  std::string socket;  // absolute socket path (no scheme)
  std::string plugin_dir;
  std::string node_id = "bench-node";
  std::string log;  // stdout and stderr go here (appended)
  std::vector<std::string> extra_args;
};

class DriverLauncher {
 public:
  explicit DriverLauncher(DriverCommand command);
  ~DriverLauncher();
  DriverLauncher(const DriverLauncher&) = delete;
  DriverLauncher& operator=(const DriverLauncher&) = delete;

  // fork + exec, then waits until Probe answers ready; returns the time from just before
  // fork to the Probe's answer. Throws std::runtime_error (with the log's tail) when the driver
  // exits or is not ready within `limit`.
  std::chrono::duration<double, std::milli> start(
      std::chrono::seconds limit = std::chrono::seconds(60));
  // SIGTERM and a bounded wait (SIGKILL after 20 s). No-op when not running.
  void stop();
  pid_t pid() const { return pid_; }
  std::string endpoint() const { return "unix://" + command_.socket; }

 private:
  DriverCommand command_;
  pid_t pid_ = -1;
};

}  // namespace polycsi::bench
