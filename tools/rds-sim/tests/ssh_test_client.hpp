// A small libssh client for the end-to-end tests: connects, logs in, runs commands on exec
// channels (several on one connection, like the plugin's pooled sessions).
#pragma once

#include <libssh/libssh.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace rds_sim::testing {

struct ExecResult {
  std::string output;
  int exit_status = -1;
  bool connection_lost = false;  // the channel or connection died before an exit status came
};

// One SSH connection to 127.0.0.1. Not thread-safe; every blocking step has a 10 s timeout.
class SshTestClient {
 public:
  explicit SshTestClient(std::uint16_t port);
  ~SshTestClient();
  SshTestClient(const SshTestClient&) = delete;
  SshTestClient& operator=(const SshTestClient&) = delete;

  // Connects and authenticates; returns false (with lastError()) when refused.
  bool loginWithPassword(const std::string& user, const std::string& password);
  bool loginWithKey(const std::string& user, const std::filesystem::path& private_key);

  // Runs one command on a new exec channel and waits for its end.
  ExecResult exec(const std::string& command);
  // Asks for a pty of `width` columns before running the command.
  ExecResult execWithPty(const std::string& command, int width);
  // Sends keepalive@openssh.com; true when the server answered.
  bool keepalive();

  std::string lastError() const;

 private:
  bool connect();
  ExecResult run(const std::string& command, int pty_width);

  ssh_session session_ = nullptr;
  std::uint16_t port_;
};

}  // namespace rds_sim::testing
