// Runs a program with an argument vector (never through a shell) and a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace powerstore_sim {

// What a finished command left behind.
struct CommandResult {
  int exit_code = -1;  // the exit status, or 128+signal when it was killed
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (an absolute path or a name looked up in PATH) with argv, capturing its
// output. A command still running at `timeout` is killed (SIGKILL) and reaped, and the call
// throws std::runtime_error naming it. Throws std::invalid_argument on an empty argv and
// std::system_error when the process cannot be started. Thread-safe.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

}  // namespace powerstore_sim
