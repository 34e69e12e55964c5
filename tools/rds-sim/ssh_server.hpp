// The simulator's SSH front end: a libssh server that authenticates one user (password and/or
// public keys), runs each exec channel's command through the CommandProcessor and answers with
// the output and an exit status, like RouterOS's SSH server does.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "disk_commands.hpp"

namespace rds_sim {

struct SshServerOptions {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 0;          // 0: the kernel picks one; start() returns it
  std::filesystem::path host_key;  // generated (ed25519, mode 0600) when missing
  std::string user = "admin";
  std::optional<std::string> password;                   // password auth when set
  std::optional<std::filesystem::path> authorized_keys;  // public-key auth when set
  std::size_t max_sessions = 64;           // connections beyond this are closed at once
  std::chrono::seconds login_timeout{30};  // key exchange plus authentication
  std::chrono::seconds idle_timeout{300};  // no open channel and no request for this long
  int terminal_width = 64;                 // print layout width when the client asks for no pty
  // When set, every command run is appended to this file as "<login method>\t<command>"
  // ("publickey" or "password"), so a test can hold the commands a client sent against the
  // commands docs/fidelity.md lists.
  std::optional<std::filesystem::path> command_log;
};

// Makes sure `path` holds a private host key: generates an ed25519 key there (file mode 0600)
// when the file does not exist. Throws std::runtime_error naming the path on failure.
void ensureHostKey(const std::filesystem::path& path);

// Accepts connections and serves each on its own thread. start() and run() are called once
// from one thread; stop() may be called from any thread and makes run() return after every
// session thread has ended.
class SshServer {
 public:
  // Borrows the processor, which must outlive the server. Throws std::invalid_argument when
  // neither a password nor authorized keys are configured.
  SshServer(SshServerOptions options, CommandProcessor& processor);
  ~SshServer();
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  // Loads the host key and authorized keys and binds the listening socket. Returns the bound
  // port. Throws std::runtime_error on failure.
  std::uint16_t start();

  // Accepts connections until stop(); then closes every session and joins its thread.
  void run();

  // Asks run() to finish. Thread-safe, idempotent.
  void stop();

  // Number of sessions being served right now. Thread-safe.
  std::size_t activeSessions() const { return active_sessions_.load(); }

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  struct Impl;

  void reapWorkers(bool all);

  SshServerOptions options_;
  CommandProcessor& processor_;
  std::unique_ptr<Impl> impl_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_sessions_{0};
  std::list<Worker> workers_;
};

}  // namespace rds_sim
