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
  }
  changed_.notify_all();
  keepalive_.join();
}

std::unique_ptr<SshSession> SshSessionPool::acquire(const Call& call) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) throw Error(Code::kCancelled, "the RDS connection pool is shutting down");
    if (!idle_.empty()) {
      auto session = std::move(idle_.back());
      idle_.pop_back();
      return session;
    }
    if (open_ < options_.size) {
      ++open_;
      lock.unlock();
      try {
        return SshSession::connect(options_.ssh, std::max(call.remaining(), milliseconds(1)));
      } catch (...) {
        discard();
        throw;
      }
    }
    if (changed_.wait_until(lock, call.deadline()) == std::cv_status::timeout)
      throw TransportError(Code::kDeadlineExceeded,
                           "no RDS connection became free before the deadline", false);
    if (call.isCancelled()) throw Error(Code::kCancelled, "RDS command cancelled");
  }
}

void SshSessionPool::release(std::unique_ptr<SshSession> session) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(std::move(session));
  }
  changed_.notify_one();
}

void SshSessionPool::discard() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
  }
  changed_.notify_one();
}

CommandReply SshSessionPool::run(const RouterOsCommand& command, const Call& call) {
  return runWithTimeout(command, call, options_.commandTimeout);
}

CommandReply SshSessionPool::runLong(const RouterOsCommand& command, const Call& call,
                                     milliseconds timeout) {
  return runWithTimeout(command, call, timeout);
}

CommandReply SshSessionPool::runWithTimeout(const RouterOsCommand& command, const Call& call,
                                            milliseconds commandTimeout) {
  const std::string text = command.text();
  milliseconds backoff(100);
  for (int attempt = 1;; ++attempt) {
    call.checkpoint("RDS command " + text);
    try {
      auto session = acquire(call);
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
      changed_.wait_for(lock, backoff, [this] { return stopping_; });
      backoff *= 2;
    }
  }
}

void SshSessionPool::keepaliveLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    changed_.wait_for(lock, options_.keepaliveInterval, [this] { return stopping_; });
    if (stopping_) break;
    // Sessions in idle_ belong to the pool while the lock is held; keepalive does not block.
    size_t before = idle_.size();
    std::erase_if(idle_, [](const std::unique_ptr<SshSession>& s) { return !s->keepalive(); });
    size_t dropped = before - idle_.size();
    if (dropped > 0) {
      open_ -= static_cast<int>(dropped);
      warn_("dropped " + std::to_string(dropped) +
            " dead RDS SSH session(s); they reconnect "
            "on next use");
    }
  }
}

}  // namespace polycsi::rds_nvme
