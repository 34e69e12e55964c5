#include "volume/volume_locks.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace polycsi::volume {
namespace {

TEST(VolumeLocksTest, SecondLockOnTheSameKeyFails) {
  VolumeLocks locks;
  auto first = locks.tryLock("rds:pvc-1");
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(locks.tryLock("rds:pvc-1").has_value());
  EXPECT_EQ(locks.held(), 1u);
}

TEST(VolumeLocksTest, DifferentKeysAreIndependent) {
  VolumeLocks locks;
  auto a = locks.tryLock("rds:pvc-1");
  auto b = locks.tryLock("rds:pvc-2");
  EXPECT_TRUE(a.has_value());
  EXPECT_TRUE(b.has_value());
  EXPECT_EQ(locks.held(), 2u);
}

TEST(VolumeLocksTest, ReleasedWhenTheGuardIsDestroyed) {
  VolumeLocks locks;
  {
    auto guard = locks.tryLock("k");
    ASSERT_TRUE(guard.has_value());
    EXPECT_EQ(locks.held(), 1u);
  }
  EXPECT_EQ(locks.held(), 0u);
  EXPECT_TRUE(locks.tryLock("k").has_value());
}

TEST(VolumeLocksTest, MovingAGuardMovesOwnership) {
  VolumeLocks locks;
  std::optional<VolumeLocks::Guard> outer;
  {
    auto guard = locks.tryLock("k");
    ASSERT_TRUE(guard.has_value());
    VolumeLocks::Guard moved(std::move(*guard));
    guard.reset();  // the moved-from guard must not release the key
    EXPECT_EQ(locks.held(), 1u);
    EXPECT_FALSE(locks.tryLock("k").has_value());
    outer.emplace(std::move(moved));
  }
  // `moved` is gone too; `outer` still holds the key.
  EXPECT_EQ(locks.held(), 1u);
  EXPECT_FALSE(locks.tryLock("k").has_value());
  outer.reset();
  EXPECT_EQ(locks.held(), 0u);
}

TEST(VolumeLocksTest, AtMostOneHolderPerKeyUnderContention) {
  VolumeLocks locks;
  constexpr int kKeys = 3;
  constexpr int kThreads = 8;
  constexpr int kRounds = 5000;
  std::array<std::atomic<int>, kKeys> holders{};
  std::array<std::atomic<int>, kKeys> acquired{};
  std::atomic<int> violations{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        const int key = (round + t) % kKeys;
        auto guard = locks.tryLock("vol-" + std::to_string(key));
        if (!guard) continue;
        acquired[key].fetch_add(1);
        if (holders[key].fetch_add(1) != 0) violations.fetch_add(1);
        std::this_thread::yield();
        holders[key].fetch_sub(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(violations.load(), 0);
  for (int key = 0; key < kKeys; ++key) EXPECT_GT(acquired[key].load(), 0) << key;
  EXPECT_EQ(locks.held(), 0u);
}

}  // namespace
}  // namespace polycsi::volume
