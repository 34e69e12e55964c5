// Copies (snapshot, restore, clone) that outlive the call that started them: the copy command
// runs in a background job, calls wait for it a while and answer "not ready" / ABORTED, a
// retry joins it, deletion waits for it, a failed copy is reported once and cleaned up.
// FakeRds holds the copy-from command until the test releases it, while every other command
// still runs (rds-sim runs each command under one lock, so it cannot).
#include <gtest/gtest.h>

#include "rds_test_env.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RdsCopyJobTest : public RdsBackendTest {
 protected:
  CreateSnapshotRequest snapshotRequest(const std::string& name, milliseconds timeout) {
    CreateSnapshotRequest r;
    r.name = name;
    r.sourceVolumeId = "pvc-src";
    r.call.timeout = timeout;
    return r;
  }
  // Calls CreateSnapshot until it answers anything but "not ready" (bounded).
  StatusOr<Snapshot> snapshotOnceSettled(const std::string& name) {
    for (int i = 0; i < 100; ++i) {
      auto s = backend_->createSnapshot(snapshotRequest(name, seconds(5)));
      if (!s.isOk() || s->readyToUse) return s;
    }
    ADD_FAILURE() << "the snapshot's copy never ended";
    return Status(Code::kInternal, "never ended");
  }
  int copies() { return rds_.count("/disk add type=file copy-from="); }
};

TEST_F(RdsCopyJobTest, SnapshotCopyOutlivesItsCallAndIsSentOnce) {
  start();
  create("pvc-src", 2 * kGiB);
  const std::string slot = snapshotSlotForName("snapshot-slow").str();
  rds_.clearCommands();
  rds_.holdNextCopy();
  // The call's deadline is much shorter than the copy: it answers "not ready" with the final id.
  auto first = backend_->createSnapshot(snapshotRequest("snapshot-slow", seconds(2)));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(first->id, slot);
  EXPECT_FALSE(first->readyToUse);
  EXPECT_EQ(first->sourceVolumeId, "pvc-src");
  EXPECT_EQ(first->sizeBytes, 2 * kGiB);
  ASSERT_TRUE(rds_.waitForHeldCopy());  // the copy goes on after the call answered
  // A retry joins the running copy and sends no second one.
  auto retry = backend_->createSnapshot(snapshotRequest("snapshot-slow", milliseconds(300)));
  ASSERT_TRUE(retry.isOk()) << retry.status().toString();
  EXPECT_EQ(retry->id, slot);
  EXPECT_FALSE(retry->readyToUse);
  EXPECT_EQ(copies(), 1);
  rds_.releaseCopy();
  auto ready = snapshotOnceSettled("snapshot-slow");
  ASSERT_TRUE(ready.isOk()) << ready.status().toString();
  EXPECT_TRUE(ready->readyToUse);
  EXPECT_EQ(ready->id, slot);
  EXPECT_EQ(ready->creationTimeUnixNs, first->creationTimeUnixNs);
  EXPECT_EQ(copies(), 1);
  ASSERT_TRUE(rds_.disk(slot).has_value());
}

TEST_F(RdsCopyJobTest, RestoreIsAbortedWhileItsCopyRunsThenSucceedsWithOneCopy) {
  start();
  create("pvc-src", 2 * kGiB);
  auto snap = backend_->createSnapshot(snapshotRequest("snapshot-1", seconds(30)));
  ASSERT_TRUE(snap.isOk() && snap->readyToUse) << snap.status().toString();
  rds_.clearCommands();
  rds_.holdNextCopy();
  CreateVolumeRequest restore = createRequest("pvc-restored", 0);
  restore.sourceId = snap->id;
  restore.call.timeout = seconds(2);
  auto pending = backend_->createVolumeFromSnapshot(restore);
  ASSERT_FALSE(pending.isOk());
  EXPECT_EQ(pending.status().code(), Code::kAborted) << pending.status().toString();
  EXPECT_NE(pending.status().message().find("copy in progress"), std::string::npos)
      << pending.status().toString();
  ASSERT_TRUE(rds_.waitForHeldCopy());
  restore.call.start = std::chrono::steady_clock::now();
  restore.call.timeout = milliseconds(300);
  auto again = backend_->createVolumeFromSnapshot(restore);
  ASSERT_FALSE(again.isOk());
  EXPECT_EQ(again.status().code(), Code::kAborted) << again.status().toString();
  rds_.releaseCopy();
  StatusOr<Volume> done = Status(Code::kAborted, "not yet");
  restore.call.timeout = seconds(5);
  for (int i = 0; i < 100 && !done.isOk() && done.status().code() == Code::kAborted; ++i) {
    restore.call.start = std::chrono::steady_clock::now();
    done = backend_->createVolumeFromSnapshot(restore);
  }
  ASSERT_TRUE(done.isOk()) << done.status().toString();
  EXPECT_EQ(done->id, "pvc-restored");
  EXPECT_EQ(done->capacityBytes, 2 * kGiB);
  EXPECT_EQ(copies(), 1);
  auto disk = rds_.disk("pvc-restored");
  ASSERT_TRUE(disk.has_value());
  EXPECT_EQ(disk->props.at("nvme-tcp-server-allow-host-name"), kFencedPlaceholderNqn);
}

TEST_F(RdsCopyJobTest, DeletionDuringACopyWaitsForItAndLeavesNothing) {
  start();
  create("pvc-src", 2 * kGiB);
  // A snapshot deleted while its copy runs.
  rds_.holdNextCopy();
  auto snap = backend_->createSnapshot(snapshotRequest("snapshot-gone", seconds(2)));
  ASSERT_TRUE(snap.isOk()) << snap.status().toString();
  ASSERT_FALSE(snap->readyToUse);
  ASSERT_TRUE(rds_.waitForHeldCopy());
  const std::string snapFile = std::string(kBase).substr(1) + "/" + snap->id + ".from-pvc-src.at-" +
                               std::to_string(snap->creationTimeUnixNs / 1000000000) + ".img";
  EXPECT_TRUE(rds_.hasFile(snapFile));
  SnapshotIdRequest del;
  del.snapshotId = snap->id;
  del.call.timeout = milliseconds(300);
  Status early = backend_->deleteSnapshot(del);
  EXPECT_EQ(early.code(), Code::kAborted) << early.toString();
  rds_.releaseCopy();  // the copy ends and adds its disk
  del.call.start = std::chrono::steady_clock::now();
  del.call.timeout = seconds(30);
  Status deleted = backend_->deleteSnapshot(del);
  ASSERT_TRUE(deleted.isOk()) << deleted.toString();
  EXPECT_FALSE(rds_.disk(snap->id).has_value());
  EXPECT_FALSE(rds_.hasFile(snapFile));

  // A clone deleted while its copy runs.
  rds_.holdNextCopy();
  CreateVolumeRequest clone = createRequest("pvc-clone-gone", 0);
  clone.sourceId = "pvc-src";
  clone.call.timeout = seconds(2);
  auto cloning = backend_->cloneVolume(clone);
  ASSERT_FALSE(cloning.isOk());
  EXPECT_EQ(cloning.status().code(), Code::kAborted) << cloning.status().toString();
  ASSERT_TRUE(rds_.waitForHeldCopy());
  const std::string cloneFile = std::string(kBase).substr(1) + "/pvc-clone-gone.img";
  VolumeIdRequest delVolume;
  delVolume.volumeId = "pvc-clone-gone";
  delVolume.call.timeout = milliseconds(300);
  Status earlyVolume = backend_->deleteVolume(delVolume);
  EXPECT_EQ(earlyVolume.code(), Code::kAborted) << earlyVolume.toString();
  rds_.releaseCopy();
  delVolume.call.start = std::chrono::steady_clock::now();
  delVolume.call.timeout = seconds(30);
  Status volumeDeleted = backend_->deleteVolume(delVolume);
  ASSERT_TRUE(volumeDeleted.isOk()) << volumeDeleted.toString();
  EXPECT_FALSE(rds_.disk("pvc-clone-gone").has_value());
  EXPECT_FALSE(rds_.hasFile(cloneFile));
}

TEST_F(RdsCopyJobTest, AFailedCopyIsReportedOnceCleanedUpAndStartedAgain) {
  start();
  create("pvc-src", 2 * kGiB);
  rds_.clearCommands();
  rds_.holdNextCopy();
  auto first = backend_->createSnapshot(snapshotRequest("snapshot-fails", seconds(2)));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  ASSERT_FALSE(first->readyToUse);
  ASSERT_TRUE(rds_.waitForHeldCopy());
  const std::string halfFile = std::string(kBase).substr(1) + "/" + first->id +
                               ".from-pvc-src.at-" +
                               std::to_string(first->creationTimeUnixNs / 1000000000) + ".img";
  rds_.releaseCopy("failure: not enough space");
  auto failed = snapshotOnceSettled("snapshot-fails");
  ASSERT_FALSE(failed.isOk());
  EXPECT_NE(failed.status().message().find("not enough space"), std::string::npos)
      << failed.status().toString();
  EXPECT_NE(failed.status().message().find("a retry starts a new copy"), std::string::npos)
      << failed.status().toString();
  EXPECT_FALSE(rds_.hasFile(halfFile));  // the failed copy's half file was removed
  EXPECT_EQ(copies(), 1);
  // The next retry starts a new copy (no hold now: it completes within the call).
  auto retried = backend_->createSnapshot(snapshotRequest("snapshot-fails", seconds(30)));
  ASSERT_TRUE(retried.isOk()) << retried.status().toString();
  EXPECT_TRUE(retried->readyToUse);
  EXPECT_EQ(retried->id, first->id);
  EXPECT_EQ(copies(), 2);
}

TEST_F(RdsCopyJobTest, CopiesBeyondThePoolAreRefused) {
  start({{"pool_size", "2"}});  // one copy at a time, one session for everything else
  create("pvc-src", 2 * kGiB);
  rds_.holdNextCopy();
  auto first = backend_->createSnapshot(snapshotRequest("snapshot-a", seconds(2)));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  ASSERT_TRUE(rds_.waitForHeldCopy());
  auto second = backend_->createSnapshot(snapshotRequest("snapshot-b", seconds(2)));
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), Code::kResourceExhausted) << second.status().toString();
  EXPECT_NE(second.status().message().find("too many copies in progress"), std::string::npos);
  EXPECT_EQ(copies(), 1);
  rds_.releaseCopy();
  auto a = snapshotOnceSettled("snapshot-a");
  ASSERT_TRUE(a.isOk() && a->readyToUse) << a.status().toString();
  auto b = backend_->createSnapshot(snapshotRequest("snapshot-b", seconds(30)));
  ASSERT_TRUE(b.isOk() && b->readyToUse) << b.status().toString();
}

// A node-only instance has neither an RDS connection nor copy jobs: deletions are refused
// clearly, not crashed on.
TEST_F(RdsCopyJobTest, ANodeOnlyInstanceRefusesDeletions) {
  start({}, Role::kNode);
  VolumeIdRequest volume;
  volume.volumeId = "pvc-x";
  EXPECT_EQ(backend_->deleteVolume(volume).code(), Code::kFailedPrecondition);
  SnapshotIdRequest snapshot;
  snapshot.snapshotId = snapshotSlotForName("snapshot-x").str();
  EXPECT_EQ(backend_->deleteSnapshot(snapshot).code(), Code::kFailedPrecondition);
  EXPECT_EQ(rds_.commands().size(), 0u);
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
