// SshSessionPool: the production CommandTransport. A small pool of persistent SSH sessions to
// one RDS, with keepalive, reconnection after failure and bounded retries.
//
// run() borrows an idle session (or connects a new one while fewer than `size` exist, or waits
// for one to come back), runs the command with a timeout of min(command timeout, the call's
// remaining time), and returns the session to the pool; a session that failed is dropped and
// replaced on next use. Transport failures are retried up to `maxAttempts` times with a short
// backoff, but only when retrying is safe: always for read-only commands (print), and for
// state-changing commands only when the failure happened before the command was sent. Host
// key and authentication failures are never retried. Every retry is logged.
//
// A background thread sends a keepalive on idle sessions every `keepaliveInterval` and drops
// those whose connection is gone.
//
// OWNERSHIP: owns its sessions and its keepalive thread; the destructor stops the thread and
// disconnects everything.
// THREADING: run() may be called from any number of threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "command_transport.hpp"
#include "ssh_session.hpp"

namespace polycsi::rds_nvme {

struct SshPoolOptions {
  SshOptions ssh;
  int size = 2;
  std::chrono::milliseconds commandTimeout{30000};
  std::chrono::milliseconds keepaliveInterval{30000};
  int maxAttempts = 3;
};

class SshSessionPool : public CommandTransport {
 public:
  using Logger = std::function<void(const std::string&)>;

  // Does not connect: the first run() does.
  SshSessionPool(SshPoolOptions options, Logger warn);
  ~SshSessionPool() override;

  CommandReply run(const RouterOsCommand& command, const Call& call) override;
  // run() with `timeout` in place of the pool's command timeout (a copy holds its session
  // that long).
  CommandReply runLong(const RouterOsCommand& command, const Call& call,
                       std::chrono::milliseconds timeout) override;

 private:
  CommandReply runWithTimeout(const RouterOsCommand& command, const Call& call,
                              std::chrono::milliseconds commandTimeout);
  std::unique_ptr<SshSession> acquire(const Call& call);
  void release(std::unique_ptr<SshSession> session);
  void discard();
  void keepaliveLoop();

  const SshPoolOptions options_;
  const Logger warn_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::unique_ptr<SshSession>> idle_;
  int open_ = 0;  // sessions idle + in use + being connected
  bool stopping_ = false;
  std::thread keepalive_;
};

}  // namespace polycsi::rds_nvme
