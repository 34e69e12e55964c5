#include "ssh_test_client.hpp"

#include <libssh/server.h>

#include <stdexcept>

namespace rds_sim::testing {

SshTestClient::SshTestClient(std::uint16_t port) : port_(port) {
  session_ = ssh_new();
  if (session_ == nullptr) throw std::runtime_error("ssh_new failed");
  const unsigned int port_number = port_;
  long timeout = 10;
  ssh_options_set(session_, SSH_OPTIONS_HOST, "127.0.0.1");
  ssh_options_set(session_, SSH_OPTIONS_PORT, &port_number);
  ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout);
  // Tests must not read or write the user's known_hosts.
  ssh_options_set(session_, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(session_, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  const int no_config = 0;
  ssh_options_set(session_, SSH_OPTIONS_PROCESS_CONFIG, &no_config);
}

SshTestClient::~SshTestClient() {
  if (ssh_is_connected(session_)) ssh_disconnect(session_);
  ssh_free(session_);
}

bool SshTestClient::connect() { return ssh_connect(session_) == SSH_OK; }

bool SshTestClient::loginWithPassword(const std::string& user, const std::string& password) {
  ssh_options_set(session_, SSH_OPTIONS_USER, user.c_str());
  if (!connect()) return false;
  return ssh_userauth_password(session_, nullptr, password.c_str()) == SSH_AUTH_SUCCESS;
}

bool SshTestClient::loginWithKey(const std::string& user, const std::filesystem::path& key_file) {
  ssh_options_set(session_, SSH_OPTIONS_USER, user.c_str());
  if (!connect()) return false;
  ssh_key key = nullptr;
  if (ssh_pki_import_privkey_file(key_file.c_str(), nullptr, nullptr, nullptr, &key) != SSH_OK) {
    return false;
  }
  const int rc = ssh_userauth_publickey(session_, nullptr, key);
  ssh_key_free(key);
  return rc == SSH_AUTH_SUCCESS;
}

ExecResult SshTestClient::exec(const std::string& command) { return run(command, 0); }

ExecResult SshTestClient::execWithPty(const std::string& command, int width) {
  return run(command, width);
}

ExecResult SshTestClient::run(const std::string& command, int pty_width) {
  ExecResult result;
  ssh_channel channel = ssh_channel_new(session_);
  if (channel == nullptr || ssh_channel_open_session(channel) != SSH_OK) {
    if (channel != nullptr) ssh_channel_free(channel);
    result.connection_lost = true;
    return result;
  }
  if (pty_width > 0 && ssh_channel_request_pty_size(channel, "xterm", pty_width, 24) != SSH_OK) {
    ssh_channel_free(channel);
    result.connection_lost = true;
    return result;
  }
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) {
    ssh_channel_free(channel);
    result.connection_lost = true;
    return result;
  }
  char buffer[4096];
  for (;;) {
    const int n = ssh_channel_read_timeout(channel, buffer, sizeof buffer, 0, 10000);
    if (n > 0) {
      result.output.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0 && !ssh_channel_is_eof(channel)) {
      result.connection_lost = true;  // timed out
      break;
    }
    if (n < 0) result.connection_lost = true;
    break;
  }
  if (!result.connection_lost) {
    result.exit_status = ssh_channel_get_exit_status(channel);
    if (result.exit_status < 0) result.connection_lost = true;
  }
  ssh_channel_close(channel);
  ssh_channel_free(channel);
  return result;
}

bool SshTestClient::keepalive() {
  return ssh_send_keepalive(session_) == SSH_OK && ssh_is_connected(session_);
}

std::string SshTestClient::lastError() const { return ssh_get_error(session_); }

}  // namespace rds_sim::testing
