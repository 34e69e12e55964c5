// Runs a program through fork/exec with its stdout and stderr captured. Test-only helper.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace polycsi::csictl::testing {

struct ProcessResult {
  // The exit status, or -1 when the process was killed by a signal (including on timeout).
  int exit_code = -1;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs argv[0] (a path, not looked up in PATH) with `argv` and the current environment minus
// the variables named in `unset_env`. Waits at most `timeout`, then kills the child (by its
// pid) and reports timed_out. Throws std::runtime_error if the process cannot be started.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& unset_env,
                         std::chrono::milliseconds timeout);

}  // namespace polycsi::csictl::testing
