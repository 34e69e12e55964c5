// SlotLocks: one lock per RDS disk slot, so the calls that change one disk (create, delete, the
// orphan report's removal) take turns while calls on different disks run side by side, each on
// its own SSH session. There is no lock over all slots: nothing in the controller serialises
// calls for different volumes.
//
// The core already runs at most one CSI call per volume at a time; these locks also cover
// what runs beside the CSI calls (the orphan report deleting a disk while a retried
// CreateVolume of the same slot is taking it) and calls that name one slot differently.
//
// THREADING: thread-safe. A Held lock must be released (destroyed) on the thread that took it
// or any other; locks are not re-entrant (taking a slot twice on one thread waits for itself
// until the call's deadline).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

class SlotLocks {
 public:
  // Called once, before waiting, when another call holds the slot (for a debug log line).
  using OnContention = std::function<void(const std::string& slot)>;

  explicit SlotLocks(OnContention onContention = {}) : onContention_(std::move(onContention)) {}

  // The slot's lock while it lives. Movable, not copyable.
  class Held {
   public:
    Held(Held&& other) noexcept : owner_(other.owner_), slot_(std::move(other.slot_)) {
      other.owner_ = nullptr;
    }
    Held& operator=(Held&&) = delete;
    Held(const Held&) = delete;
    ~Held();

   private:
    friend class SlotLocks;
    Held(SlotLocks* owner, std::string slot) : owner_(owner), slot_(std::move(slot)) {}
    SlotLocks* owner_;
    std::string slot_;
  };

  // Waits until no other call holds `slot`, then holds it. ABORTED (an operation is pending
  // for the volume; the caller retries) when the call's deadline comes first, CANCELLED when
  // the call is cancelled.
  Held lock(const std::string& slot, const Call& call);

 private:
  void unlock(const std::string& slot);

  const OnContention onContention_;
  std::mutex mu_;
  std::condition_variable released_;
  std::set<std::string> held_;
};

}  // namespace polycsi::rds_nvme
