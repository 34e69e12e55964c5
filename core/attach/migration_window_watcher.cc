#include "attach/migration_window_watcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace polycsi::attach {

StatusOr<std::unique_ptr<MigrationWindowWatcher>> MigrationWindowWatcher::create(
    AttachmentManager& manager, std::chrono::milliseconds maxWait) {
  if (maxWait <= std::chrono::milliseconds::zero())
    return Status(Code::kInvalidArgument, "migration window watcher: maxWait must be positive");
  return std::unique_ptr<MigrationWindowWatcher>(new MigrationWindowWatcher(manager, maxWait));
}

MigrationWindowWatcher::MigrationWindowWatcher(AttachmentManager& manager,
                                               std::chrono::milliseconds maxWait)
    : manager_(manager), maxWait_(maxWait) {}

MigrationWindowWatcher::~MigrationWindowWatcher() { stop(); }

std::chrono::milliseconds MigrationWindowWatcher::nextWait() const {
  const std::optional<Clock::time_point> expiry = manager_.nextWindowExpiry();
  if (!expiry) return maxWait_;
  // A window expires once strictly more than its timeout has passed: look just after.
  const auto untilExpiry = std::chrono::ceil<std::chrono::milliseconds>(*expiry - Clock::now()) +
                           std::chrono::milliseconds(1);
  return std::clamp(untilExpiry, std::chrono::milliseconds(1), maxWait_);
}

Status MigrationWindowWatcher::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable())
    return Status(Code::kFailedPrecondition, "migration window watcher already started");
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      StatusOr<int> ended = manager_.expireWindows();
      if (!ended.isOk()) {
        // The window stays open in the store; the next check retries it.
        spdlog::error("ending expired migration windows: {}", ended.status().toString());
      } else if (*ended > 0) {
        spdlog::info("{} migration window(s) expired", *ended);
      }
      const std::chrono::milliseconds wait = nextWait();
      lock.lock();
      wake_.wait_for(lock, wait, [this] { return stopping_; });
    }
  });
  return Status::ok();
}

void MigrationWindowWatcher::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

}  // namespace polycsi::attach
