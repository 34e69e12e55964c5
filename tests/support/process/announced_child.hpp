// A program started as a child process that prints one line saying where it listens (for
// example "rds-sim listening on 127.0.0.1:40123"), as the project's simulators do. Tests start
// it, read that line, and end it by its pid — never by name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace polycsi::testing {

class AnnouncedChild {
 public:
  // Starts argv[0] with `argv` through ChildProcess (no shell; its stderr goes to
  // `outputPath`, or is the test's own when empty); its stdout comes back through a pipe. Waits at
  // most `timeout` for a stdout line that contains `marker` and keeps what follows the marker on
  // that line (announcement()). Throws std::runtime_error with everything the child printed when it
  // exits or stays silent.
  AnnouncedChild(const std::vector<std::string>& argv, const std::string& marker,
                 std::chrono::seconds timeout, const std::string& outputPath = "");
  ~AnnouncedChild();
  AnnouncedChild(const AnnouncedChild&) = delete;
  AnnouncedChild& operator=(const AnnouncedChild&) = delete;

  // The rest of the announcing line after the marker, e.g. "127.0.0.1:40123".
  const std::string& announcement() const { return announcement_; }
  // The port at the end of the announcement's first word ("ADDRESS:PORT ...").
  int port() const;
  pid_t pid() const { return child_->pid(); }
  bool running() const { return child_->running(); }

  // SIGTERM, then a wait of at most `grace` before SIGKILL. Returns the exit status, or
  // 128+signal for a child ended by a signal, or -1 when it was already stopped. Idempotent.
  int stop(std::chrono::seconds grace = std::chrono::seconds(10));

 private:
  std::unique_ptr<ChildProcess> child_;
  std::string announcement_;
};

}  // namespace polycsi::testing
