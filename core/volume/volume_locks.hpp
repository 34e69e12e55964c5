// Per-volume operation locks: the core runs at most one operation per volume at a time and
// answers ABORTED to a second one (CSI: "operation pending for volume").
// THREADING: all members are thread-safe.
#pragma once

#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace polycsi::volume {

class VolumeLocks {
 public:
  // Holds one key until destroyed. Movable, not copyable.
  class Guard {
   public:
    Guard(Guard&& other) noexcept;
    Guard& operator=(Guard&&) = delete;
    Guard(const Guard&) = delete;
    ~Guard();

   private:
    friend class VolumeLocks;
    Guard(VolumeLocks* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    VolumeLocks* owner_;
    std::string key_;
  };

  // The lock for `key`, or nullopt when another operation holds it. Never blocks.
  std::optional<Guard> tryLock(const std::string& key);
  // Number of keys currently held.
  size_t held() const;

 private:
  void release(const std::string& key);
  mutable std::mutex mu_;
  std::set<std::string> held_;
};

}  // namespace polycsi::volume
