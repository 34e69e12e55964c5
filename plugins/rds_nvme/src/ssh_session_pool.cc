#include "ssh_session_pool.hpp"

#include <algorithm>

namespace polycsi::rds_nvme {
namespace {

using std::chrono::milliseconds;

}  // namespace

SshSessionPool::SshSessionPool(SshPoolOptions options, Logger warn)
    : options_(std::move(options)), warn_(std::move(warn)) {
  keepalive_ = std::thread([this] { keepaliveLoop(); });
}

SshSessionPool::~SshSessionPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (Waiter* waiter : waiters_) waiter->wake.notify_one();
  }
  stopped_.notify_all();
  keepalive_.join();
}

std::unique_ptr<SshSession> SshSessionPool::acquire(const Call& call) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) throw Error(Code::kCancelled, "the RDS connection pool is shutting down");
  // Only when nobody is queued: a session or room that frees up belongs to the queue first.
  if (waiters_.empty() && !idle_.empty()) {
    auto session = std::move(idle_.back());
    idle_.pop_back();
    return session;
  }
  if (waiters_.empty() && open_ < options_.size) {
    ++open_;  // room for one more session: this caller connects it
  } else {
    Waiter self;
    waiters_.push_back(&self);
    // Woken by a hand-off, shutdown or the deadline; also every second to notice cancellation.
    auto served = [&] { return self.session || self.mayConnect || stopping_; };
    while (!served()) {
      auto until =
          std::min(call.deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(1));
      self.wake.wait_until(lock, until, served);
      if (served()) break;
      if (std::chrono::steady_clock::now() >= call.deadline() || call.isCancelled()) {
        waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &self));
        if (call.isCancelled()) throw Error(Code::kCancelled, "RDS command cancelled");
        throw TransportError(Code::kDeadlineExceeded,
                             "no RDS connection became free before the deadline", false);
      }
    }
    // A hand-off removed `self` from the queue; shutdown did not.
    if (auto it = std::find(waiters_.begin(), waiters_.end(), &self); it != waiters_.end())
      waiters_.erase(it);
    if (self.session) return std::move(self.session);
    if (!self.mayConnect) throw Error(Code::kCancelled, "the RDS connection pool is shutting down");
  }
  lock.unlock();
  try {
    return SshSession::connect(options_.ssh, std::max(call.remaining(), milliseconds(1)));
  } catch (...) {
    discard();
    throw;
  }
}

void SshSessionPool::handOffLocked(std::unique_ptr<SshSession> session) {
  if (waiters_.empty() || stopping_) {
    idle_.push_back(std::move(session));
    return;
  }
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->session = std::move(session);
  next->wake.notify_one();
}

void SshSessionPool::freeRoomLocked() {
  --open_;
  if (waiters_.empty() || stopping_) return;
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  ++open_;
  next->mayConnect = true;
  next->wake.notify_one();
}

void SshSessionPool::release(std::unique_ptr<SshSession> session) {
  std::lock_guard<std::mutex> lock(mu_);
  handOffLocked(std::move(session));
}

void SshSessionPool::discard() {
  std::lock_guard<std::mutex> lock(mu_);
  freeRoomLocked();
}

CommandReply SshSessionPool::run(const RouterOsCommand& command, const Call& call) {
  return runWithTimeout(command, call, options_.commandTimeout);
}

CommandReply SshSessionPool::runLong(const RouterOsCommand& command, const Call& call,
                                     milliseconds timeout) {
  return runWithTimeout(command, call, timeout);
}

int SshSessionPool::waitingCallers() {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(waiters_.size()) + joined_;
}

CommandReply SshSessionPool::runWithTimeout(const RouterOsCommand& command, const Call& call,
                                            milliseconds commandTimeout) {
  if (!command.isReadOnly()) return send(command, call, commandTimeout, nullptr);
  CommandReply reply;
  if (joinSharedRead(command.text(), call, reply)) return reply;
  return sendRead(command, call, commandTimeout);
}

bool SshSessionPool::joinSharedRead(const std::string& text, const Call& call,
                                    CommandReply& reply) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = pendingReads_.find(text);
  if (it == pendingReads_.end()) return false;
  std::shared_ptr<SharedRead> shared = it->second;
  ++joined_;
  while (!shared->done) {
    auto until =
        std::min(call.deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(1));
    shared->finished.wait_until(lock, until);
    if (shared->done) break;
    if (call.isCancelled() || std::chrono::steady_clock::now() >= call.deadline()) {
      --joined_;
      if (call.isCancelled()) throw Error(Code::kCancelled, "RDS command cancelled");
      throw TransportError(Code::kDeadlineExceeded,
                           "no RDS connection became free before the deadline", false);
    }
  }
  --joined_;
  if (shared->failed) return false;
  reply = shared->reply;
  return true;
}

CommandReply SshSessionPool::sendRead(const RouterOsCommand& command, const Call& call,
                                      milliseconds commandTimeout) {
  const std::string text = command.text();
  auto shared = std::make_shared<SharedRead>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Another caller may have started one since joinSharedRead looked: keep the first.
    pendingReads_.try_emplace(text, shared);
    if (pendingReads_[text] != shared) shared = nullptr;
  }
  if (!shared) {
    CommandReply reply;
    if (joinSharedRead(text, call, reply)) return reply;
    return send(command, call, commandTimeout, nullptr);
  }
  auto finish = [&](const CommandReply* reply) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = pendingReads_.find(text); it != pendingReads_.end() && it->second == shared)
      pendingReads_.erase(it);
    shared->done = true;
    shared->failed = reply == nullptr;
    if (reply) shared->reply = *reply;
    shared->finished.notify_all();
  };
  try {
    CommandReply reply = send(command, call, commandTimeout, shared);
    finish(&reply);
    return reply;
  } catch (...) {
    finish(nullptr);
    throw;
  }
}

CommandReply SshSessionPool::send(const RouterOsCommand& command, const Call& call,
                                  milliseconds commandTimeout,
                                  const std::shared_ptr<SharedRead>& shared) {
  const std::string text = command.text();
  milliseconds backoff(100);
  for (int attempt = 1;; ++attempt) {
    call.checkpoint("RDS command " + text);
    try {
      auto session = acquire(call);
      if (shared) {
        // From here the command goes out: later callers must not take its reply as theirs.
        std::lock_guard<std::mutex> lock(mu_);
        shared->sent = true;
        if (auto it = pendingReads_.find(text); it != pendingReads_.end() && it->second == shared)
          pendingReads_.erase(it);
      }
      try {
        milliseconds timeout = std::min(commandTimeout, call.remaining());
        CommandReply reply = session->exec(text, std::max(timeout, milliseconds(1)));
        release(std::move(session));
        return reply;
      } catch (...) {
        session.reset();
        discard();
        throw;
      }
    } catch (const TransportError& e) {
      bool safe = command.isReadOnly() || !e.mayHaveRun();
      if (!safe || attempt >= options_.maxAttempts || call.remaining() <= backoff) throw;
      warn_("RDS transport failure on attempt " + std::to_string(attempt) + " of " +
            std::to_string(options_.maxAttempts) + " for `" + text + "`: " + e.what() +
            "; retrying");
      std::unique_lock<std::mutex> lock(mu_);
      stopped_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff *= 2;
    }
  }
}

void SshSessionPool::keepaliveLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stopped_.wait_for(lock, options_.keepaliveInterval, [this] { return stopping_; });
    if (stopping_) break;
    // The idle sessions leave the pool (still counted open) while their keepalive crosses the
    // network, so callers never wait on the lock for it; busy sessions need none.
    std::vector<std::unique_ptr<SshSession>> checking = std::move(idle_);
    idle_.clear();
    lock.unlock();
    std::vector<std::unique_ptr<SshSession>> alive;
    size_t dropped = 0;
    for (auto& session : checking) {
      if (session->keepalive())
        alive.push_back(std::move(session));
      else
        ++dropped;
    }
    checking.clear();  // disconnects the dead ones outside the lock
    lock.lock();
    for (auto& session : alive) handOffLocked(std::move(session));
    for (size_t i = 0; i < dropped; ++i) freeRoomLocked();
    if (dropped > 0)
      warn_("dropped " + std::to_string(dropped) +
            " dead RDS SSH session(s); they reconnect on next use");
  }
}

}  // namespace polycsi::rds_nvme
