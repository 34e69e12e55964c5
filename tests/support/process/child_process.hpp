// The one way tests start programs: fork/exec with an argv (never a shell), in a process group
// of the child's own, tied to the test process's life (child_lifetime.hpp), and ended by its
// pid only — never by name. Every wait is bounded.
//
// ChildProcess runs a long-lived peer (a driver, a simulator, a daemon) until the test stops
// it; runCommand runs a program to completion and returns what it printed.
//
// THREADING: a ChildProcess belongs to one thread at a time; runCommand keeps no state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace polycsi::testing {

struct ChildOptions {
  // argv[0] is the program: a path, or a bare name looked up in PATH before the fork (a missing
  // program is an error naming it, not an exit status 127).
  std::vector<std::string> argv;
  // Where the child's stdout and stderr go (appended, created 0600); /dev/null when empty.
  std::string outputPath;
  // Stdout (stderr) comes back through a pipe (ChildProcess::stdoutFd(), stderrFd()) instead
  // of going to outputPath.
  bool pipeStdout = false;
  bool pipeStderr = false;
  // Stderr goes wherever stdout goes, interleaved as written (overrides pipeStderr).
  bool stderrWithStdout = false;
  // Stderr stays the test process's own, so a sanitizer report of the child shows in the test's
  // log (overrides outputPath and pipeStderr for stderr).
  bool keepStderr = false;
  // Variables of this process's environment the child does not get.
  std::vector<std::string> unsetEnv;
  // An open /run/netns/<name> descriptor: the child joins that network namespace before exec.
  std::optional<int> networkNamespaceFd;
  // A directory bind-mounted over /run in a private mount namespace of the child, so daemons
  // that keep sockets and locks under /run (rpcbind) neither see nor touch this machine's.
  std::string privateRunDir;
};

class ChildProcess {
 public:
  // Starts the child: stdin is /dev/null, no descriptor of the test process but 0-2 is
  // inherited, and the child leads a process group of its own (so stop() also ends what it
  // started). It is killed by the kernel when the test process ends, if it was started from the
  // test's main thread (see child_lifetime.hpp). Throws std::runtime_error when the program is
  // not found or fork fails; a child that cannot join the namespaces or exec exits with status
  // 126 or 127, the reason written to its output.
  explicit ChildProcess(const ChildOptions& options);
  // stop() with the default grace.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once stop(), kill() or an exit seen by hasExited() reaped the child.
  bool running() const { return pid_ > 0; }
  // The read ends of the pipes ChildOptions asked for, owned by this object; -1 otherwise.
  int stdoutFd() const { return stdoutFd_; }
  int stderrFd() const { return stderrFd_; }
  // After the child was reaped: true when a signal ended it.
  bool endedBySignal() const { return endedBySignal_; }

  // True once the child has exited; then SIGKILL ends what it left running in its process
  // group, and the child is reaped (its status kept). Never blocks.
  bool hasExited();
  // SIGTERM (and SIGCONT, as a stopped process keeps SIGTERM pending) to the child's pid, then
  // a wait of at most `grace` before SIGKILL to its process group; what the child started ends
  // with it either way. Returns the exit status, or
  // 128+signal when a signal ended it; the status already seen when it had exited; -1 when it
  // was never started. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL to the child's process group and a wait for the exit; returns as stop(). Idempotent.
  int kill();

 private:
  int reap(bool block);

  pid_t pid_ = -1;
  int stdoutFd_ = -1;
  int stderrFd_ = -1;
  int status_ = -1;
  bool endedBySignal_ = false;
};

struct CommandResult {
  int exitStatus = -1;  // -1: ended by a signal (including the timeout's SIGKILL)
  bool timedOut = false;
  std::string output;       // stdout, and stderr too with mergeStderr
  std::string errorOutput;  // stderr, when not merged
};

struct CommandOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  // Stderr into CommandResult::output, interleaved as written, instead of errorOutput.
  bool mergeStderr = false;
  std::vector<std::string> unsetEnv;
  std::optional<int> networkNamespaceFd;
};

// Runs `argv` (as ChildOptions::argv) to completion, at most `options.timeout`, then kills its
// process group and reports timedOut. Throws std::runtime_error when it cannot be started.
CommandResult runCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});
// runCommand of `program` followed by `arguments`.
CommandResult runProgram(const std::string& program, const std::vector<std::string>& arguments,
                         const CommandOptions& options = {});

}  // namespace polycsi::testing
