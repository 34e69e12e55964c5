// Per-volume operation locks.
#include "volume/volume_locks.hpp"

#include <utility>

namespace polycsi::volume {

VolumeLocks::Guard::Guard(Guard&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), key_(std::move(other.key_)) {}

VolumeLocks::Guard::~Guard() {
  if (owner_ != nullptr) owner_->release(key_);
}

std::optional<VolumeLocks::Guard> VolumeLocks::tryLock(const std::string& key) {
  // Copied before the insert so that nothing can throw once the key is marked held.
  std::string owned = key;
  std::lock_guard<std::mutex> lock(mu_);
  if (!held_.insert(key).second) return std::nullopt;
  return Guard(this, std::move(owned));
}

size_t VolumeLocks::held() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

void VolumeLocks::release(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  held_.erase(key);
}

}  // namespace polycsi::volume
