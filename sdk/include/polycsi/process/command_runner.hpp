// Running a program the one way polycsi runs programs: the core's node operations (mkfs,
// mount, resize2fs, ...) and plugins' host tools (iscsiadm) alike.
//
//   - argv only, never a shell; argv[0] without a '/' is looked up in fixed system directories
//     (/usr/local/sbin ... /bin), never in the caller's PATH;
//   - a clean environment: LC_ALL=C (parsable output) and that fixed PATH, nothing inherited;
//   - empty standard input, or bytes the caller gives (runCommandWithInput), never a file;
//   - stdout and stderr captured together, at most 64 KiB;
//   - no descriptor of the caller leaks into the program;
//   - its own process group, SIGKILLed as a whole when the timeout passes, then reaped.
//
// Part of the SDK as the static library polycsi::process (position independent, so plugins,
// which are MODULE libraries, link it as well as the core). A library rather than a host
// service: a plugin runs inside the driver's process either way, so a host call would add an
// ABI member and argument marshalling for no isolation, and plugin unit tests run it without
// a host.
//
// THREADING: any number of calls may run at once from any threads; each forks its own child
// with everything prepared before fork(), so it is safe in a multithreaded process.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::process {

// Result of running a program to its end.
struct CommandResult {
  int exitCode = -1;   // the exit status, or 128 + the signal that ended it
  std::string output;  // stdout and stderr interleaved, truncated to 64 KiB
};

// Runs argv[0] with argv as described above, killing its process group after `timeout`.
// DEADLINE_EXCEEDED on timeout (the message names the command and carries the output so far),
// INTERNAL when it cannot be started, INVALID_ARGUMENT for an empty argv, a NUL byte in an
// argument or a timeout <= 0. A non-zero exit is a result, not an error.
StatusOr<CommandResult> runCommand(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout);

// runCommand, with `standardInput` written to the program's standard input, which is then
// closed (end of file). For secrets a program can read from stdin (cryptsetup --key-file=-):
// the input is never on a command line, in the environment, on disk or in any message this
// function returns. A program that exits, or closes its standard input, before reading all of
// it is not an error (cryptsetup resize reads a passphrase only when it needs one); its exit
// code says how it went. The input is written while the output is read, so neither side can
// block the other whatever their sizes; at most kMaxCommandInputBytes, INVALID_ARGUMENT beyond.
StatusOr<CommandResult> runCommandWithInput(const std::vector<std::string>& argv,
                                            std::string_view standardInput,
                                            std::chrono::milliseconds timeout);

// The largest standard input runCommandWithInput takes (1 MiB): keys and small documents.
inline constexpr size_t kMaxCommandInputBytes = 1024 * 1024;

// runCommand for code that reports errors by throwing (plugins through the C++ SDK): the
// result, or polycsi::Error carrying the Status's code and message.
CommandResult runCommandOrThrow(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout);

}  // namespace polycsi::process
