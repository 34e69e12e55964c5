// BoundedStat (polycsi/bounded_stat.hpp) with a stat function the test controls: one that
// blocks until the test releases it stands for a hung NFS server, one that fails for ESTALE.
// No timing: the blocked stat never returns before the test lets it, so the timeout always
// passes first, whatever the machine's load.
#include "polycsi/bounded_stat.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "hung_call.hpp"

namespace polycsi {
namespace {

using Kind = BoundedStat::Result::Kind;

TEST(BoundedStatTest, AHungStatTimesOutAndIsNotStartedTwice) {
  testing::HungCall server;
  BoundedStat probe(server.function<struct stat>());
  EXPECT_EQ(probe.probe("/mnt/a", std::chrono::milliseconds(0)).kind, Kind::kTimedOut);
  server.waitStarted(1);
  EXPECT_EQ(probe.probe("/mnt/a", std::chrono::milliseconds(1)).kind, Kind::kTimedOut);
  // Still the one stat in flight for the path, not a second thread stuck with it.
  EXPECT_EQ(server.startedCount(), 1);
  server.release();
  // Once it returns, its answer is the next probe's (or a fresh stat's): OK either way.
  EXPECT_EQ(probe.probe("/mnt/a", std::chrono::hours(1)).kind, Kind::kOk);
  server.waitFinished();
}

TEST(BoundedStatTest, AFailedStatCarriesItsErrno) {
  BoundedStat probe(
      [](const std::string& path, struct stat*) { return path == "/mnt/stale" ? ESTALE : ENOENT; });
  auto stale = probe.probe("/mnt/stale", std::chrono::hours(1));
  EXPECT_EQ(stale.kind, Kind::kFailed);
  EXPECT_EQ(stale.error, ESTALE);
  EXPECT_EQ(probe.probe("/mnt/gone", std::chrono::hours(1)).error, ENOENT);
}

// A stat that has answered is not an answer for later: the next probe stats again, so a mount
// that went stale right after a good answer is seen at once.
TEST(BoundedStatTest, AnAnswerIsNeverReusedForALaterProbe) {
  std::atomic<int> answer{0};
  BoundedStat probe([&](const std::string&, struct stat*) { return answer.load(); });
  for (int round = 0; round < 50; ++round) {
    answer = 0;
    EXPECT_EQ(probe.probe("/mnt/a", std::chrono::hours(1)).kind, Kind::kOk);
    answer = ESTALE;
    auto stale = probe.probe("/mnt/a", std::chrono::hours(1));
    ASSERT_EQ(stale.kind, Kind::kFailed) << "round " << round;
    EXPECT_EQ(stale.error, ESTALE);
  }
}

TEST(BoundedStatTest, TheSystemStatAnswersForARealPath) {
  BoundedStat probe;
  auto root = probe.probe("/", std::chrono::hours(1));
  EXPECT_EQ(root.kind, Kind::kOk);
  EXPECT_TRUE(S_ISDIR(root.st.st_mode));
  auto missing = probe.probe("/no/such/path/here", std::chrono::hours(1));
  EXPECT_EQ(missing.kind, Kind::kFailed);
  EXPECT_EQ(missing.error, ENOENT);
}

// The owner may go while a stat it abandoned still hangs; the stat's thread must not touch it
// when it finally returns.
TEST(BoundedStatTest, AnAbandonedStatOutlivesItsOwnerSafely) {
  testing::HungCall server;
  {
    BoundedStat probe(server.function<struct stat>());
    EXPECT_EQ(probe.probe("/mnt/a", std::chrono::milliseconds(0)).kind, Kind::kTimedOut);
  }
  // Started, so waitFinished below waits for it (not for a stat that has not run yet).
  server.waitStarted(1);
  server.release();
  server.waitFinished();
  // The thread finishes on its own; ASan would report a use after free of the owner.
  BoundedStat again;
  EXPECT_EQ(again.probe("/", std::chrono::hours(1)).kind, Kind::kOk);
}

}  // namespace
}  // namespace polycsi
