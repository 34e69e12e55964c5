#include "slot_locks.hpp"

#include <chrono>

namespace polycsi::rds_nvme {

SlotLocks::Held::~Held() {
  if (owner_ != nullptr) owner_->unlock(slot_);
}

SlotLocks::Held SlotLocks::lock(const std::string& slot, const Call& call) {
  std::unique_lock<std::mutex> lock(mu_);
  if (held_.count(slot) > 0 && onContention_) onContention_(slot);
  while (held_.count(slot) > 0) {
    // Also wakes every second to notice a cancelled call.
    auto until =
        std::min(call.deadline(), std::chrono::steady_clock::now() + std::chrono::seconds(1));
    released_.wait_until(lock, until);
    if (held_.count(slot) == 0) break;
    if (call.isCancelled()) throw Error(Code::kCancelled, "cancelled while waiting for " + slot);
    if (std::chrono::steady_clock::now() >= call.deadline())
      throw Error(Code::kAborted, "another operation on RDS disk " + slot +
                                      " is still in progress; try again once it ended");
  }
  held_.insert(slot);
  return Held(this, slot);
}

void SlotLocks::unlock(const std::string& slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_.erase(slot);
  }
  released_.notify_all();
}

}  // namespace polycsi::rds_nvme
