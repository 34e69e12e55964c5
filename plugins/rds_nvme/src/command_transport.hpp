// CommandTransport: runs one RouterOS CLI command on the RDS and returns its raw reply.
//
// The production transport is SshSessionPool (ssh_session_pool.hpp); tests use a recording
// fake. The interface is what lets the backend be tested without a network and lets tests
// assert that an invalid request sent nothing at all.
//
// THREADING: implementations must accept concurrent run() calls.
#pragma once

#include <chrono>
#include <string>

#include "polycsi/types.hpp"
#include "routeros_command.hpp"

namespace polycsi::rds_nvme {

// What the RDS answered: the exec channel's exit status and output streams.
struct CommandReply {
  int exitStatus = 0;
  std::string output;       // stdout
  std::string errorOutput;  // stderr
};

// The command could not be run or its reply was lost (connection refused or dropped, channel
// failure, timeout). Code is UNAVAILABLE or DEADLINE_EXCEEDED. `mayHaveRun` is false only when
// the failure happened before the command was sent, so even a state-changing command may be
// retried; when true, the caller must check the state before acting again.
class TransportError : public Error {
 public:
  TransportError(Code code, const std::string& message, bool mayHaveRun)
      : Error(code, message), mayHaveRun_(mayHaveRun) {}
  bool mayHaveRun() const { return mayHaveRun_; }

 private:
  bool mayHaveRun_;
};

class CommandTransport {
 public:
  virtual ~CommandTransport() = default;
  // Runs `command` within the call's deadline. Returns the reply whatever RouterOS said (error
  // replies included); throws TransportError when there is no reply, or Error for failures
  // that retrying cannot fix (host key mismatch, authentication refused).
  virtual CommandReply run(const RouterOsCommand& command, const Call& call) = 0;
  // As run(), for a command that may take up to `timeout` (a /disk add copy-from) instead of
  // the transport's command timeout; still bounded by the call's deadline. The default is
  // run() (for transports without a command timeout of their own).
  virtual CommandReply runLong(const RouterOsCommand& command, const Call& call,
                               std::chrono::milliseconds timeout) {
    (void)timeout;
    return run(command, call);
  }
};

}  // namespace polycsi::rds_nvme
