#include "server/call_cancellation.hpp"

#include <grpcpp/server_context.h>

namespace polycsi::server {

bool CallCancellation::Entry::isSet() const {
  return std::atomic_ref<int32_t>(const_cast<int32_t&>(flag)).load(std::memory_order_acquire) != 0;
}

void CallCancellation::Entry::set() {
  std::atomic_ref<int32_t>(flag).store(1, std::memory_order_release);
}

CallCancellation::Watch::~Watch() {
  std::lock_guard<std::mutex> lock(owner_.mu_);
  owner_.entries_.erase(entry_);
}

const volatile int32_t* CallCancellation::Watch::flag() const { return &entry_->flag; }

bool CallCancellation::Watch::cancelled() const { return entry_->isSet(); }

CallCancellation::CallCancellation(std::chrono::milliseconds pollInterval, Clock now)
    : pollInterval_(pollInterval), now_(std::move(now)) {}

CallCancellation::~CallCancellation() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<CallCancellation::Watch> CallCancellation::watch(
    const grpc::ServerContext* rpc, std::chrono::system_clock::time_point deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  auto entry = entries_.emplace(entries_.end(), Entry{rpc, deadline});
  if (shuttingDown_ || now_() >= deadline) entry->set();
  if (pollInterval_.count() > 0 && !thread_.joinable()) thread_ = std::thread([this] { run(); });
  wake_.notify_all();
  return std::unique_ptr<Watch>(new Watch(*this, entry));
}

void CallCancellation::cancelAll() {
  std::lock_guard<std::mutex> lock(mu_);
  shuttingDown_ = true;
  for (auto& entry : entries_) entry.set();
}

void CallCancellation::pollOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  pollLocked();
}

void CallCancellation::pollLocked() {
  const auto now = now_();
  for (auto& entry : entries_) {
    if (entry.isSet()) continue;  // flags never go back to 0
    // IsCancelled() covers a client that cancelled or went away and, in gRPC's own view, a
    // passed deadline; the deadline is compared here too so that our clock decides as well.
    if (shuttingDown_ || now >= entry.deadline ||
        (entry.rpc != nullptr && entry.rpc->IsCancelled()))
      entry.set();
  }
}

void CallCancellation::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    // Idle while nothing is watched; otherwise one pass per interval.
    if (entries_.empty())
      wake_.wait(lock, [&] { return stop_ || !entries_.empty(); });
    else
      wake_.wait_for(lock, pollInterval_, [&] { return stop_; });
    if (!stop_) pollLocked();
  }
}

}  // namespace polycsi::server
