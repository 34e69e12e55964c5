// The node-side condition of an nfs volume from a mountinfo text and a stat the test controls
// (a real hung NFS mount needs a kernel client and a server that stops answering).
#include "nfs_mount_health.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace polycsi::nfs {
namespace {

// Three mounts as /proc/self/mountinfo prints them: the root, an NFS export at a staging path
// with a space (escaped \040), and an ext4 filesystem stacked over another path.
const char kMountinfo[] =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "95 22 0:52 / /var/lib/kubelet/stage\\040a rw,relatime shared:50 - nfs4 "
    "10.0.0.5:/export/pvc-1 rw,vers=4.0\n"
    "96 22 0:53 / /var/lib/kubelet/stage-b rw - nfs 10.0.0.5:/export/pvc-2 rw\n"
    "97 96 8:2 / /var/lib/kubelet/stage-b rw - ext4 /dev/sdb rw\n";

TEST(NfsMountHealthTest, FindsTheLastMountAtAPathAndUndoesEscapes) {
  auto a = findMount(kMountinfo, "/var/lib/kubelet/stage a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->fsType, "nfs4");
  EXPECT_EQ(a->source, "10.0.0.5:/export/pvc-1");
  auto b = findMount(kMountinfo, "/var/lib/kubelet/stage-b");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->fsType, "ext4") << "the mount stacked last is the one a lookup reaches";
  EXPECT_FALSE(findMount(kMountinfo, "/var/lib/kubelet/other"));
  EXPECT_FALSE(findMount("garbage line\n", "/"));
}

TEST(NfsMountHealthTest, NamesAMissingForeignStaleOrHungMount) {
  int answer = 0;
  BoundedStat probe([&](const std::string&, struct stat*) { return answer; });
  const auto timeout = std::chrono::hours(1);
  auto healthy = nfsMountCondition("/var/lib/kubelet/stage a", kMountinfo, probe, timeout);
  EXPECT_FALSE(healthy.abnormal) << healthy.message;
  EXPECT_EQ(healthy.message,
            "the NFS mount of 10.0.0.5:/export/pvc-1 at /var/lib/kubelet/stage a answers");

  auto gone = nfsMountCondition("/var/lib/kubelet/other", kMountinfo, probe, timeout);
  EXPECT_TRUE(gone.abnormal);
  EXPECT_NE(gone.message.find("nothing is mounted at the staging path /var/lib/kubelet/other"),
            std::string::npos)
      << gone.message;

  auto foreign = nfsMountCondition("/var/lib/kubelet/stage-b", kMountinfo, probe, timeout);
  EXPECT_TRUE(foreign.abnormal);
  EXPECT_NE(foreign.message.find("holds a ext4 mount of /dev/sdb"), std::string::npos)
      << foreign.message;

  answer = ESTALE;
  auto stale = nfsMountCondition("/var/lib/kubelet/stage a", kMountinfo, probe, timeout);
  EXPECT_TRUE(stale.abnormal);
  EXPECT_NE(stale.message.find("10.0.0.5:/export/pvc-1 at /var/lib/kubelet/stage a fails: "),
            std::string::npos)
      << stale.message;
  EXPECT_NE(stale.message.find("stale file handle"), std::string::npos) << stale.message;
}

TEST(NfsMountHealthTest, AStatThatDoesNotReturnIsReportedNotWaitedFor) {
  std::mutex mu;
  std::condition_variable cv;
  bool released = false, finished = false;
  {
    BoundedStat probe([&](const std::string&, struct stat*) {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return released; });
      finished = true;
      cv.notify_all();
      return 0;
    });
    auto hung = nfsMountCondition("/var/lib/kubelet/stage a", kMountinfo, probe,
                                  std::chrono::milliseconds(0));
    EXPECT_TRUE(hung.abnormal);
    EXPECT_EQ(hung.message,
              "the NFS mount of 10.0.0.5:/export/pvc-1 at /var/lib/kubelet/stage a does not "
              "answer within 0 ms: the server does not respond");
  }
  std::unique_lock<std::mutex> lock(mu);
  released = true;
  cv.notify_all();
  cv.wait(lock, [&] { return finished; });
}

}  // namespace
}  // namespace polycsi::nfs
