// NodeGetVolumeStats' look at volume_path (node/volume_path_check.hpp) with stat and statvfs
// functions the test controls: a statvfs that blocks until the test releases it stands for a
// hung NFS server whose attributes the client still has cached (stat answers, statvfs hangs),
// one that fails with ESTALE for a server that lost the export. No timing: a blocked call never
// returns before the test lets it, so the bound always passes first, whatever the load.
#include "node/volume_path_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>

#include "hung_call.hpp"

namespace polycsi::node {
namespace {

using Kind = VolumePathCheck::Outcome::Kind;
using ::testing::HasSubstr;

int statAnswers(const std::string&, struct stat*) { return 0; }

// The stat answers but took the whole bound (the clock the check reads moves by it while the
// stat runs); the statvfs, hung, gets what is left: nothing, so it is abandoned at once.
TEST(VolumePathCheckTest, AStatvfsThatDoesNotReturnIsAbnormalNotWaitedFor) {
  testing::HungCall server;
  const auto bound = std::chrono::hours(1);
  VolumePathCheck::Clock::time_point now{};
  {
    VolumePathCheck check(
        [&](const std::string&, struct stat*) {
          now += bound;
          return 0;
        },
        server.function<struct statvfs>(), [&] { return now; });
    const auto hung = check.check("/var/lib/kubelet/pods/p/volumes/v", true, bound);
    EXPECT_EQ(hung.kind, Kind::kAbnormal);
    EXPECT_EQ(hung.message,
              "volume_path /var/lib/kubelet/pods/p/volumes/v does not answer: statvfs() did not "
              "return within 0 ms (a hung NFS server or a dead device); no usage could be read");
    EXPECT_FALSE(hung.usage);
    server.waitStarted(1);
    // Asked again while it hangs: the one statvfs in flight, not a second thread stuck with it.
    const auto again = check.check("/var/lib/kubelet/pods/p/volumes/v", true, bound);
    EXPECT_EQ(again.kind, Kind::kAbnormal);
    EXPECT_EQ(server.startedCount(), 1);
  }
  server.releaseAndWait();
}

TEST(VolumePathCheckTest, AStatvfsFailureIsTheVolumesConditionOrNotFound) {
  int error = ESTALE;
  VolumePathCheck check(statAnswers, [&](const std::string&, struct statvfs*) { return error; });
  const auto stale = check.check("/mnt/v", true, std::chrono::hours(1));
  EXPECT_EQ(stale.kind, Kind::kAbnormal);
  EXPECT_EQ(stale.message,
            "volume_path /mnt/v cannot be read: statvfs() failed: Stale file handle (a stale NFS "
            "file handle: the server no longer has what is mounted; restage the volume once the "
            "export is back); no usage could be read");
  error = EIO;
  EXPECT_THAT(check.check("/mnt/v", true, std::chrono::hours(1)).message,
              HasSubstr("statvfs() failed: Input/output error; no usage could be read"));
  error = ENOENT;
  const auto gone = check.check("/mnt/v", true, std::chrono::hours(1));
  EXPECT_EQ(gone.kind, Kind::kMissing);
  EXPECT_EQ(gone.message, "volume_path /mnt/v does not exist");
}

TEST(VolumePathCheckTest, AHungStatComesFirstAndABlockVolumeNeedsNoStatvfs) {
  testing::HungCall server;
  std::atomic<int> statvfsCalls{0};
  {
    VolumePathCheck check(server.function<struct stat>(), [&](const std::string&, struct statvfs*) {
      ++statvfsCalls;
      return 0;
    });
    const auto hung = check.check("/mnt/v", true, std::chrono::milliseconds(0));
    EXPECT_EQ(hung.kind, Kind::kAbnormal);
    EXPECT_THAT(hung.message, HasSubstr("does not answer: stat() did not return within 0 ms"));
    server.waitStarted(1);
  }
  server.releaseAndWait();
  EXPECT_EQ(statvfsCalls.load(), 0);

  VolumePathCheck block(statAnswers, [&](const std::string&, struct statvfs*) {
    ++statvfsCalls;
    return EIO;
  });
  const auto device = block.check("/var/lib/kubelet/plugins/dev", false, std::chrono::hours(1));
  EXPECT_EQ(device.kind, Kind::kAnswered);
  EXPECT_FALSE(device.usage);
  EXPECT_EQ(statvfsCalls.load(), 0) << "a raw block volume's path is a device node";
}

TEST(VolumePathCheckTest, TheRealCallsReadARealFilesystemsUsage) {
  VolumePathCheck check;
  const auto root = check.check("/", true, std::chrono::hours(1));
  ASSERT_EQ(root.kind, Kind::kAnswered) << root.message;
  ASSERT_TRUE(root.usage);
  EXPECT_GT(root.usage->totalBytes, 0);
  EXPECT_EQ(root.usage->usedInodes, root.usage->totalInodes - root.usage->freeInodes);
  EXPECT_EQ(check.check("/no/such/volume", true, std::chrono::hours(1)).kind, Kind::kMissing);
}

TEST(VolumePathCheckTest, UsageComesInFragmentsAsStatvfsCountsThem) {
  struct statvfs info {};
  info.f_frsize = 4096;
  info.f_blocks = 100;
  info.f_bfree = 40;
  info.f_bavail = 30;  // reserved blocks are free but not available
  info.f_files = 50;
  info.f_ffree = 20;
  const VolumeUsage usage = usageFromStatvfs(info);
  EXPECT_EQ(usage.totalBytes, 409600);
  EXPECT_EQ(usage.usedBytes, 60 * 4096);
  EXPECT_EQ(usage.availableBytes, 30 * 4096);
  EXPECT_EQ(usage.totalInodes, 50);
  EXPECT_EQ(usage.freeInodes, 20);
  EXPECT_EQ(usage.usedInodes, 30);
}

}  // namespace
}  // namespace polycsi::node
