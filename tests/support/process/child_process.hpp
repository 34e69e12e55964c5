// Child processes for the nfs plugin's test servers (nfs-ganesha, rpcbind) and the `ip` commands
// that build their network namespace: started with fork/exec and an argv (never a shell),
// optionally inside a network namespace with a private /run, and stopped by pid only.
//
// THREADING: the functions keep no state; each child belongs to whoever started it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace polycsi::nfs::testing {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is an absolute path to the program
  // Where the child's stdout and stderr go (appended); /dev/null when empty.
  std::string outputPath;
  // An open /run/netns/<name> descriptor: the child joins that network namespace.
  std::optional<int> networkNamespaceFd;
  // A directory bind-mounted over /run in a private mount namespace of the child, so daemons
  // that keep sockets and locks under /run (rpcbind) neither see nor touch this machine's.
  std::string privateRunDir;
};

// Starts the child; it is killed by the kernel when the starting thread's process dies
// (PR_SET_PDEATHSIG). Throws std::runtime_error when fork fails. A child that cannot join the
// namespaces or exec exits with status 126 or 127 (with the reason in its output file).
pid_t spawnProcess(const SpawnOptions& options);

// True once `pid` (a child of this process) has exited; reaps it. Never blocks.
bool hasExited(pid_t pid);

// SIGTERM, then SIGKILL after `grace`; waits for the exit. Sets `pid` to -1. No-op for -1.
void stopProcess(pid_t& pid, std::chrono::seconds grace);

struct CommandResult {
  int exitStatus = -1;  // -1: killed (by the timeout or a signal)
  std::string output;   // stdout and stderr
};

// Runs a command to completion, killing it after `timeout`. Throws std::runtime_error when it
// cannot be started.
CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::seconds timeout);

}  // namespace polycsi::nfs::testing
