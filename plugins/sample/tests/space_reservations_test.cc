// SpaceReservations: a hold counts until its object is committed, and the commit hands the bytes
// from "held" to "allocated" in one step, so no reservation ever sees them twice.
#include "space_reservations.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "polycsi/types.hpp"

namespace polycsi::sample::testing {
namespace {

constexpr int64_t kCapacity = 10;

class SpaceReservationsTest : public ::testing::Test {
 protected:
  std::atomic<int64_t> allocated_{0};
  SpaceReservations reservations_;
  std::function<int64_t()> available_ = [this] { return kCapacity - allocated_.load(); };
};

TEST_F(SpaceReservationsTest, HoldsCountUntilReleasedAndRefuseWhatDoesNotFit) {
  auto a = reservations_.reserve(6, available_, "a");
  EXPECT_EQ(reservations_.held(), 6);
  try {
    reservations_.reserve(5, available_, "b");
    ADD_FAILURE() << "5 bytes were promised where 4 are left";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("only 4 bytes available"), std::string::npos) << e.what();
  }
  { auto dropped = std::move(a); }  // a failed creation gives its bytes back
  EXPECT_EQ(reservations_.held(), 0);
  EXPECT_NO_THROW(reservations_.reserve(10, available_, "c"));
}

TEST_F(SpaceReservationsTest, CommitMovesTheBytesFromHeldToAllocatedInOneStep) {
  auto a = reservations_.reserve(3, available_, "a");
  std::future<int64_t> other;
  a.commit([&] {
    allocated_ = 3;  // the object is now visible, and its hold not yet released
    // A reservation asked for in this moment waits for the commit to end: done here, it would
    // see 3 allocated and 3 held, 4 bytes available, and refuse 7 that are free.
    other = std::async(std::launch::async, [&] {
      auto hold = reservations_.reserve(7, available_, "b");
      return reservations_.held();
    });
    EXPECT_EQ(other.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout)
        << "a reservation ran in the middle of a commit";
  });
  EXPECT_EQ(other.get(), 7);  // it saw exactly 7 free bytes, and took them
  EXPECT_EQ(reservations_.held(), 0);
}

TEST_F(SpaceReservationsTest, AFailedCommitKeepsTheHold) {
  auto a = reservations_.reserve(4, available_, "a");
  EXPECT_THROW(a.commit([] { throw Error(Code::kInternal, "rename failed"); }), Error);
  EXPECT_EQ(reservations_.held(), 4);
}

}  // namespace
}  // namespace polycsi::sample::testing
