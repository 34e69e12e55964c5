// SshSessionPool: the production CommandTransport. A small pool of persistent SSH sessions to
// one RDS, with keepalive, reconnection after failure and bounded retries.
//
// run() borrows an idle session, or connects a new one while fewer than `size` exist (the pool
// grows to `size` only as concurrent commands need it), or queues for one; the command then
// runs with a timeout of min(command timeout, the call's remaining time) and the session goes
// back. Queued callers are served first come, first served: a returning session (or the room
// left by a dropped one) is handed to the longest waiting caller, never taken by one that came
// later, so under load every caller waits about as long as the others. A session that failed is
// dropped and replaced on next use. Transport failures are retried up to `maxAttempts` times
// with a short backoff, but only when retrying is safe: always for read-only commands (print),
// and for state-changing commands only when the failure happened before the command was sent.
// Host key and authentication failures are never retried. Every retry is logged.
//
// Identical read-only commands (the same `print`) that wait for a session at the same time
// are sent once: the first caller sends it when it gets a session and every caller that asked
// before then gets the same reply. A caller never joins a command already sent, so no reply
// it gets was read before it asked (no result older than the call). When the sender fails,
// each joined caller sends the command itself.
//
// A background thread sends a keepalive on idle sessions every `keepaliveInterval` and drops
// those whose connection is gone; it takes them out of the pool while it does, so no lock is
// held across network I/O.
//
// OWNERSHIP: owns its sessions and its keepalive thread; the destructor stops the thread and
// disconnects everything.
// THREADING: run() may be called from any number of threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
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

  // Callers waiting right now: for a session, or for a read another caller is about to send.
  int waitingCallers();

 private:
  // A read-only command not sent yet, which callers of the same text join.
  struct SharedRead {
    bool sent = false;    // the first caller has a session: nobody joins any more
    bool done = false;    // reply or error is set
    bool failed = false;  // the sender failed: each joined caller sends it itself
    CommandReply reply;
    std::condition_variable finished;
  };
  // Joins a pending read of `text` (true, with `reply` set) or returns false.
  bool joinSharedRead(const std::string& text, const Call& call, CommandReply& reply);
  CommandReply sendRead(const RouterOsCommand& command, const Call& call,
                        std::chrono::milliseconds commandTimeout);
  CommandReply send(const RouterOsCommand& command, const Call& call,
                    std::chrono::milliseconds commandTimeout,
                    const std::shared_ptr<SharedRead>& shared);

  CommandReply runWithTimeout(const RouterOsCommand& command, const Call& call,
                              std::chrono::milliseconds commandTimeout);
  // A caller queued for a session: given one (`session`) or room to connect one (`mayConnect`).
  struct Waiter {
    std::condition_variable wake;
    std::unique_ptr<SshSession> session;
    bool mayConnect = false;
  };

  std::unique_ptr<SshSession> acquire(const Call& call);
  // Gives `session` to the longest waiting caller, else back to the idle sessions. Holds mu_.
  void handOffLocked(std::unique_ptr<SshSession> session);
  // One session fewer is open: its room goes to the longest waiting caller. Holds mu_.
  void freeRoomLocked();
  void release(std::unique_ptr<SshSession> session);
  void discard();
  void keepaliveLoop();

  const SshPoolOptions options_;
  const Logger warn_;
  std::mutex mu_;
  std::condition_variable stopped_;  // for the keepalive thread and retry backoffs
  std::vector<std::unique_ptr<SshSession>> idle_;
  std::deque<Waiter*> waiters_;  // oldest first; each lives on its caller's stack
  std::map<std::string, std::shared_ptr<SharedRead>> pendingReads_;  // by command text
  int joined_ = 0;  // callers waiting on another caller's read
  int open_ = 0;    // sessions idle + in use + being connected + in keepalive
  bool stopping_ = false;
  std::thread keepalive_;
};

}  // namespace polycsi::rds_nvme
