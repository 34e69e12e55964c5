// Keeps concurrent creations from promising the same free bytes twice: a creation reserves its
// size against what is available before it writes anything and holds the reservation until its
// metadata is committed (after which the object itself counts as allocated). The commit and the
// release happen in one step under the lock (Hold::commit): between the two, a concurrent
// reservation would count the bytes twice and refuse space that is free.
//
// THREADING: all members are safe to call from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace polycsi::sample {

class SpaceReservations {
 public:
  // Returns its bytes to the pool when destroyed. Move-only.
  class Hold {
   public:
    Hold() = default;
    Hold(SpaceReservations* owner, int64_t bytes) : owner_(owner), bytes_(bytes) {}
    ~Hold() { release(); }
    Hold(Hold&& other) noexcept : owner_(other.owner_), bytes_(other.bytes_) {
      other.owner_ = nullptr;
    }
    Hold& operator=(Hold&& other) noexcept;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

    // Runs `makeVisible` (the step after which the bytes count as allocated) and releases the
    // hold, both under the reservations' lock. When `makeVisible` throws, the hold stays.
    void commit(const std::function<void()>& makeVisible);

   private:
    void release();
    SpaceReservations* owner_ = nullptr;
    int64_t bytes_ = 0;
  };

  // Reserves `bytes` when `availableNow()` (evaluated under the lock, so that committing objects
  // and reserving are ordered) minus what others hold is at least `bytes`; otherwise throws
  // RESOURCE_EXHAUSTED naming `what` and the numbers.
  Hold reserve(int64_t bytes, const std::function<int64_t()>& availableNow,
               const std::string& what);

  // Bytes currently held by in-flight creations.
  int64_t held() const;

 private:
  mutable std::mutex mu_;
  int64_t held_ = 0;
};

}  // namespace polycsi::sample
