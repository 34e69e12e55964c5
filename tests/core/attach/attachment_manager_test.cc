#include "attach/attachment_manager.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "attach/messages.hpp"
#include "test_support.hpp"

namespace polycsi::attach {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::FakeTime;
using ::testing::HasSubstr;
using testing::RecordingObserver;
using testing::TempDir;
using Publish = PublishPlan::Action;
using Unpublish = UnpublishPlan::Action;

constexpr const char* kVolume = "rds:pvc-xyz123";

VolumePolicy policy(AttachSemantics semantics, seconds timeout = seconds(300)) {
  return VolumePolicy{semantics, timeout};
}

class AttachmentManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AttachmentStore::Options options;
    options.busyTimeout = milliseconds(0);  // a locked database fails at once
    auto opened = AttachmentStore::open(dir_.file("attach.db"), options);
    ASSERT_TRUE(opened.isOk()) << opened.status().toString();
    store_ = std::move(opened).value();
    manager_ = AttachmentManager::create(*store_, observer_, time_).value();
  }

  StatusOr<PublishPlan> plan(const std::string& node, const VolumePolicy& p,
                             const std::string& volume = kVolume) {
    return manager_->planPublish(volume, node, p, "rds", "rds_csi", PvcRef{"vm-disk", "vms"});
  }
  // Plans and commits a publish; the plan's status when refused.
  Status publish(const std::string& node, const VolumePolicy& p,
                 const std::string& volume = kVolume) {
    auto planned = plan(node, p, volume);
    if (!planned.isOk()) return planned.status();
    return manager_->commitPublish(*planned);
  }
  Status unpublish(const std::string& node, const std::string& volume = kVolume) {
    auto planned = manager_->planUnpublish(volume, node);
    if (!planned.isOk()) return planned.status();
    return manager_->commitUnpublish(*planned);
  }
  // Starts a migration node1 -> node2 with a 5 minute window and forgets the reports.
  void startMigration() {
    ASSERT_TRUE(publish("node1", policy(AttachSemantics::kMigrationWindow)).isOk());
    ASSERT_TRUE(publish("node2", policy(AttachSemantics::kMigrationWindow)).isOk());
    observer_.clear();
  }
  void restart() {
    manager_.reset();
    manager_ = AttachmentManager::create(*store_, observer_, time_).value();
  }
  // Holds the database's write lock from a second connection until released.
  void lockDatabase() {
    ASSERT_EQ(sqlite3_open(dir_.file("attach.db").c_str(), &locker_), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(locker_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  }
  void unlockDatabase() {
    sqlite3_exec(locker_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(locker_);
    locker_ = nullptr;
  }
  void TearDown() override {
    if (locker_ != nullptr) unlockDatabase();
  }

  TempDir dir_;
  FakeTime time_;
  RecordingObserver observer_;
  std::unique_ptr<AttachmentStore> store_;
  std::unique_ptr<AttachmentManager> manager_;
  sqlite3* locker_ = nullptr;
};

TEST_F(AttachmentManagerTest, FirstPublishAttachesAndRepeatIsNoOp) {
  auto planned = plan("node1", policy(AttachSemantics::kExclusive));
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Publish::kAttach);
  EXPECT_THAT(planned->next.nodes, ElementsAre("node1"));
  EXPECT_EQ(planned->next.backend, "rds");
  EXPECT_EQ(planned->next.metricsPrefix, "rds_csi");
  EXPECT_EQ(planned->next.pvc, (PvcRef{"vm-disk", "vms"}));
  EXPECT_TRUE(manager_->state(kVolume).nodes.empty()) << "planning changes nothing";
  EXPECT_EQ(observer_.total(), 0u);

  ASSERT_TRUE(manager_->commitPublish(*planned).isOk());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1"));
  ASSERT_EQ(observer_.changes.size(), 1u);
  EXPECT_THAT(observer_.changes[0].nodes, ElementsAre("node1"));

  auto again = plan("node1", policy(AttachSemantics::kExclusive));
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->action, Publish::kAlreadyAttached);
  ASSERT_TRUE(manager_->commitPublish(*again).isOk());
  EXPECT_EQ(observer_.changes.size(), 1u) << "an idempotent publish reports nothing";
}

TEST_F(AttachmentManagerTest, ExclusiveRefusesASecondNode) {
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kExclusive)).isOk());
  Status refused = publish("node2", policy(AttachSemantics::kExclusive));
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "Volume rds:pvc-xyz123 is already attached to node node1; access mode allows a "
            "single node");
  ASSERT_EQ(observer_.conflicts.size(), 1u);
  EXPECT_EQ(observer_.conflicts[0].node, "node2");
  EXPECT_EQ(observer_.conflicts[0].message, refused.message());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1"));
}

TEST_F(AttachmentManagerTest, SharedAttachesAnyNumberOfNodes) {
  for (const char* node : {"a", "b", "c", "d"})
    ASSERT_TRUE(publish(node, policy(AttachSemantics::kShared)).isOk());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("a", "b", "c", "d"));
  auto planned = manager_->planUnpublish(kVolume, "b");
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Unpublish::kDetach);
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("a", "c", "d"));
  EXPECT_FALSE(manager_->state(kVolume).migrating());
  EXPECT_TRUE(observer_.started.empty());
  EXPECT_EQ(observer_.changes.size(), 5u);
}

TEST_F(AttachmentManagerTest, SecondNodeStartsTheMigrationWindow) {
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kMigrationWindow, seconds(120))).isOk());
  time_.advance(seconds(10));
  auto planned = plan("node2", policy(AttachSemantics::kMigrationWindow, seconds(120)));
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Publish::kStartMigration);
  EXPECT_THAT(planned->next.nodes, ElementsAre("node1", "node2"));
  ASSERT_TRUE(planned->next.migrationStartedAt.has_value());
  EXPECT_EQ(*planned->next.migrationStartedAt, std::chrono::floor<milliseconds>(time_.now()));
  EXPECT_EQ(planned->next.migrationTimeout, seconds(120));
  EXPECT_TRUE(observer_.started.empty()) << "reported only after the commit";

  ASSERT_TRUE(manager_->commitPublish(*planned).isOk());
  ASSERT_EQ(observer_.started.size(), 1u);
  EXPECT_EQ(observer_.started[0].source, "node1");
  EXPECT_EQ(observer_.started[0].target, "node2");
  EXPECT_TRUE(observer_.started[0].state.migrating());
  EXPECT_EQ(manager_->state(kVolume), planned->next);
}

TEST_F(AttachmentManagerTest, ThirdNodeHitsTheMigrationLimit) {
  startMigration();
  // Exactly at the limit (measured from the stored, millisecond start) the window is open.
  const auto start = *manager_->state(kVolume).migrationStartedAt;
  time_.advance(seconds(300) - (time_.now() - start));
  Status refused = publish("node3", policy(AttachSemantics::kMigrationWindow));
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "Volume rds:pvc-xyz123 already attached to 2 nodes (migration limit). Attached "
            "nodes: [node1, node2]");
  ASSERT_EQ(observer_.conflicts.size(), 1u);
  EXPECT_EQ(observer_.conflicts[0].message, refused.message());
  EXPECT_TRUE(observer_.failed.empty());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1", "node2"));

  time_.advance(std::chrono::nanoseconds(1));
  EXPECT_THAT(publish("node3", policy(AttachSemantics::kMigrationWindow)).message(),
              HasSubstr("migration timeout exceeded (5m0s elapsed, 5m0s max)"));
}

TEST_F(AttachmentManagerTest, AttachedNodeStaysOkDuringAndAfterTheWindow) {
  startMigration();
  for (const char* node : {"node1", "node2"}) {
    auto planned = plan(node, policy(AttachSemantics::kMigrationWindow));
    ASSERT_TRUE(planned.isOk());
    EXPECT_EQ(planned->action, Publish::kAlreadyAttached);
  }
  time_.advance(seconds(3600));
  for (const char* node : {"node1", "node2"}) {
    auto planned = plan(node, policy(AttachSemantics::kMigrationWindow));
    ASSERT_TRUE(planned.isOk());
    EXPECT_EQ(planned->action, Publish::kAlreadyAttached);
  }
  EXPECT_EQ(observer_.total(), 0u);
}

TEST_F(AttachmentManagerTest, ExpiredWindowRefusesWithTimeoutAndReportsItOnce) {
  startMigration();
  time_.advance(milliseconds(302'500));
  Status refused = publish("node3", policy(AttachSemantics::kMigrationWindow));
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "Volume rds:pvc-xyz123 migration timeout exceeded (5m2s elapsed, 5m0s max). "
            "Previous migration may be stuck. Detach source node to reset, or adjust "
            "migrationTimeoutSeconds in StorageClass.");
  ASSERT_EQ(observer_.failed.size(), 1u);
  EXPECT_EQ(observer_.failed[0].reason, "timeout");
  EXPECT_EQ(observer_.failed[0].source, "node1");
  EXPECT_EQ(observer_.failed[0].target, "node2");
  EXPECT_EQ(observer_.failed[0].elapsed, milliseconds(302'500));
  ASSERT_EQ(observer_.conflicts.size(), 1u);
  EXPECT_EQ(observer_.conflicts[0].message, refused.message());
  EXPECT_TRUE(manager_->state(kVolume).migrationTimedOut);

  time_.advance(seconds(60));
  Status again = publish("node4", policy(AttachSemantics::kMigrationWindow));
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("(6m2s elapsed, 5m0s max)"));
  EXPECT_EQ(observer_.failed.size(), 1u) << "the timeout is reported once";
  EXPECT_EQ(observer_.conflicts.size(), 2u) << "every refusal is a conflict";
}

TEST_F(AttachmentManagerTest, TimeoutReportSurvivesRestart) {
  startMigration();
  time_.advance(seconds(301));
  EXPECT_EQ(publish("node3", policy(AttachSemantics::kMigrationWindow)).code(),
            Code::kFailedPrecondition);
  ASSERT_EQ(observer_.failed.size(), 1u);
  restart();
  EXPECT_TRUE(manager_->state(kVolume).migrationTimedOut);
  EXPECT_EQ(publish("node3", policy(AttachSemantics::kMigrationWindow)).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(observer_.failed.size(), 1u);
}

TEST_F(AttachmentManagerTest, SourceDetachCompletesTheMigration) {
  startMigration();
  time_.advance(milliseconds(45'250));
  auto planned = manager_->planUnpublish(kVolume, "node1");
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Unpublish::kCompleteMigration);
  EXPECT_THAT(planned->next.nodes, ElementsAre("node2"));
  EXPECT_FALSE(planned->next.migrating());
  EXPECT_EQ(planned->migrationDuration, milliseconds(45'250));
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk());
  ASSERT_EQ(observer_.completed.size(), 1u);
  EXPECT_EQ(observer_.completed[0].source, "node1");
  EXPECT_EQ(observer_.completed[0].target, "node2");
  EXPECT_EQ(observer_.completed[0].duration, milliseconds(45'250));
  EXPECT_TRUE(observer_.failed.empty());
  EXPECT_EQ(manager_->state(kVolume), planned->next);

  // The handoff is over: the volume can migrate back.
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kMigrationWindow)).isOk());
  ASSERT_EQ(observer_.started.size(), 1u);
  EXPECT_EQ(observer_.started[0].source, "node2");
  EXPECT_EQ(observer_.started[0].target, "node1");
}

TEST_F(AttachmentManagerTest, TargetDetachRollsBack) {
  startMigration();
  time_.advance(seconds(20));
  auto planned = manager_->planUnpublish(kVolume, "node2");
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Unpublish::kRollbackMigration);
  EXPECT_THAT(planned->next.nodes, ElementsAre("node1"));
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk());
  ASSERT_EQ(observer_.failed.size(), 1u);
  EXPECT_EQ(observer_.failed[0].reason, "target detached");
  EXPECT_EQ(observer_.failed[0].source, "node1");
  EXPECT_EQ(observer_.failed[0].target, "node2");
  EXPECT_EQ(observer_.failed[0].elapsed, seconds(20));
  EXPECT_TRUE(observer_.completed.empty());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1"));
  EXPECT_FALSE(manager_->state(kVolume).migrating());
}

TEST_F(AttachmentManagerTest, SourceDetachAfterTimeoutResetsWithoutSecondOutcome) {
  startMigration();
  time_.advance(seconds(400));
  ASSERT_EQ(publish("node3", policy(AttachSemantics::kMigrationWindow)).code(),
            Code::kFailedPrecondition);
  observer_.clear();
  ASSERT_TRUE(unpublish("node1").isOk());
  EXPECT_TRUE(observer_.completed.empty());
  EXPECT_TRUE(observer_.failed.empty());
  ASSERT_EQ(observer_.changes.size(), 1u);
  const auto state = manager_->state(kVolume);
  EXPECT_THAT(state.nodes, ElementsAre("node2"));
  EXPECT_FALSE(state.migrating());
  EXPECT_FALSE(state.migrationTimedOut);
  // Reset: a new migration can start.
  auto planned = plan("node3", policy(AttachSemantics::kMigrationWindow));
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Publish::kStartMigration);
}

TEST_F(AttachmentManagerTest, TargetDetachAfterTimeoutDoesNotFailTwice) {
  startMigration();
  time_.advance(seconds(400));
  ASSERT_EQ(publish("node3", policy(AttachSemantics::kMigrationWindow)).code(),
            Code::kFailedPrecondition);
  observer_.clear();
  ASSERT_TRUE(unpublish("node2").isOk());
  EXPECT_TRUE(observer_.failed.empty());
  EXPECT_TRUE(observer_.completed.empty());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1"));
}

TEST_F(AttachmentManagerTest, SourceLeavingAfterAnUnnoticedExpiryIsATimeout) {
  // Nothing noticed the expiry yet: a handoff that outlived its window did not succeed.
  startMigration();
  time_.advance(seconds(400));
  ASSERT_TRUE(unpublish("node1").isOk());
  EXPECT_TRUE(observer_.completed.empty());
  ASSERT_EQ(observer_.failed.size(), 1u);
  EXPECT_EQ(observer_.failed[0].reason, "timeout");
  EXPECT_EQ(observer_.failed[0].elapsed, seconds(400));
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node2"));
}

TEST_F(AttachmentManagerTest, TargetLeavingAfterAnUnnoticedExpiryIsATimeout) {
  startMigration();
  time_.advance(seconds(301));
  ASSERT_TRUE(unpublish("node2").isOk());
  EXPECT_TRUE(observer_.completed.empty());
  ASSERT_EQ(observer_.failed.size(), 1u);
  EXPECT_EQ(observer_.failed[0].reason, "timeout") << "not 'target detached'";
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node1"));
}

TEST_F(AttachmentManagerTest, LeavingJustBeforeTheTimeoutCompletes) {
  startMigration();
  time_.advance(seconds(300) - milliseconds(1));
  ASSERT_TRUE(unpublish("node1").isOk());
  ASSERT_EQ(observer_.completed.size(), 1u);
  EXPECT_TRUE(observer_.failed.empty());
}

TEST_F(AttachmentManagerTest, WindowsEndAtExpiryExactlyOnce) {
  startMigration();
  ASSERT_TRUE(
      publish("node1", policy(AttachSemantics::kMigrationWindow, seconds(60)), "rds:pvc-short")
          .isOk());
  ASSERT_TRUE(
      publish("node3", policy(AttachSemantics::kMigrationWindow, seconds(60)), "rds:pvc-short")
          .isOk());
  observer_.clear();
  const Clock::time_point start = time_.now();
  ASSERT_TRUE(manager_->nextWindowExpiry().has_value());
  EXPECT_EQ(std::chrono::floor<seconds>(*manager_->nextWindowExpiry() - start), seconds(59))
      << "the 60 s window of pvc-short expires first (its start is kept to the millisecond)";

  time_.advance(seconds(59));
  auto ended = manager_->expireWindows();
  ASSERT_TRUE(ended.isOk()) << ended.status().toString();
  EXPECT_EQ(*ended, 0) << "before its timeout the window is still open";
  EXPECT_TRUE(observer_.failed.empty());

  time_.advance(seconds(2));
  ended = manager_->expireWindows();
  ASSERT_TRUE(ended.isOk());
  EXPECT_EQ(*ended, 1);
  ASSERT_EQ(observer_.failed.size(), 1u);
  EXPECT_EQ(observer_.failed[0].state.volumeId, "rds:pvc-short");
  EXPECT_EQ(observer_.failed[0].reason, "timeout");
  EXPECT_EQ(observer_.failed[0].source, "node1");
  EXPECT_EQ(observer_.failed[0].target, "node3");
  EXPECT_EQ(observer_.failed[0].elapsed, seconds(61));
  EXPECT_TRUE(observer_.conflicts.empty()) << "nobody asked to attach";
  EXPECT_TRUE(manager_->state("rds:pvc-short").migrationTimedOut);
  EXPECT_THAT(manager_->state("rds:pvc-short").nodes, ElementsAre("node1", "node3"));
  // The 5-minute window of the other volume is next.
  ASSERT_TRUE(manager_->nextWindowExpiry().has_value());
  EXPECT_GT(*manager_->nextWindowExpiry(), time_.now());

  // Once: neither a later sweep, nor a restart, nor the refusal or detach that follows reports
  // the timeout again.
  EXPECT_EQ(*manager_->expireWindows(), 0);
  restart();
  EXPECT_EQ(*manager_->expireWindows(), 0);
  Status refused =
      publish("node4", policy(AttachSemantics::kMigrationWindow, seconds(60)), "rds:pvc-short");
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("migration timeout exceeded"));
  ASSERT_TRUE(unpublish("node1", "rds:pvc-short").isOk());
  EXPECT_EQ(observer_.failed.size(), 1u);
  EXPECT_TRUE(observer_.completed.empty());

  // The other volume's window ends at its own expiry.
  time_.advance(seconds(240));
  ended = manager_->expireWindows();
  ASSERT_TRUE(ended.isOk());
  EXPECT_EQ(*ended, 1);
  EXPECT_EQ(observer_.failed.back().state.volumeId, kVolume);
  EXPECT_FALSE(manager_->nextWindowExpiry().has_value()) << "no open, unreported window left";
}

TEST_F(AttachmentManagerTest, FailedExpiryRecordIsRetriedAndReportedOnce) {
  startMigration();
  time_.advance(seconds(301));
  lockDatabase();
  auto ended = manager_->expireWindows();
  EXPECT_EQ(ended.status().code(), Code::kInternal);
  EXPECT_THAT(ended.status().message(), HasSubstr(kVolume));
  EXPECT_TRUE(observer_.failed.empty()) << "nothing reported that was not recorded";
  EXPECT_FALSE(manager_->state(kVolume).migrationTimedOut);
  unlockDatabase();
  ended = manager_->expireWindows();
  ASSERT_TRUE(ended.isOk());
  EXPECT_EQ(*ended, 1);
  EXPECT_EQ(observer_.failed.size(), 1u);
}

TEST_F(AttachmentManagerTest, RebuiltMigrationKeepsTheEarlierStart) {
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kMigrationWindow)).isOk());
  const Clock::time_point attached = time_.now() - seconds(200);
  auto planned = manager_->planPublish(kVolume, "node2", policy(AttachSemantics::kMigrationWindow),
                                       "rds", "rds_csi", PvcRef{}, attached);
  ASSERT_TRUE(planned.isOk());
  ASSERT_EQ(planned->action, Publish::kStartMigration);
  EXPECT_EQ(*planned->next.migrationStartedAt, std::chrono::floor<milliseconds>(attached));
  ASSERT_TRUE(manager_->commitPublish(*planned).isOk());
  // 200 s of the 300 s window were spent before the rebuild.
  time_.advance(seconds(101));
  EXPECT_EQ(*manager_->expireWindows(), 1);

  // A start in the future (clock skew) never lengthens a window either.
  ASSERT_TRUE(unpublish("node1").isOk());
  const Clock::time_point now = time_.now();
  planned = manager_->planPublish(kVolume, "node3", policy(AttachSemantics::kMigrationWindow),
                                  "rds", "rds_csi", PvcRef{}, now + seconds(50));
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(*planned->next.migrationStartedAt, std::chrono::floor<milliseconds>(now));
}

TEST_F(AttachmentManagerTest, RepublishInAnotherModeIsAlreadyExists) {
  VolumePolicy rw = policy(AttachSemantics::kShared);
  rw.nodeMode = "MULTI_NODE_MULTI_WRITER/filesystem/rw";
  VolumePolicy ro = rw;
  ro.nodeMode = "MULTI_NODE_MULTI_WRITER/filesystem/ro";
  ASSERT_TRUE(publish("node1", rw).isOk());
  EXPECT_EQ(manager_->state(kVolume).nodeModes.at("node1"), rw.nodeMode);
  EXPECT_TRUE(publish("node1", rw).isOk()) << "the same publish again is a no-op";
  Status conflict = publish("node1", ro);
  EXPECT_EQ(conflict.code(), Code::kAlreadyExists);
  EXPECT_EQ(conflict.message(),
            "Volume rds:pvc-xyz123 is already published to node node1 as "
            "MULTI_NODE_MULTI_WRITER/filesystem/rw; this publish asks for "
            "MULTI_NODE_MULTI_WRITER/filesystem/ro: unpublish it from that node first");
  // Another node may join read-only; each node keeps its own mode, durably.
  ASSERT_TRUE(publish("node2", ro).isOk());
  restart();
  EXPECT_EQ(publish("node2", rw).code(), Code::kAlreadyExists);
  // After an unpublish the node may come back in any mode.
  ASSERT_TRUE(unpublish("node1").isOk());
  EXPECT_EQ(manager_->state(kVolume).nodeModes.count("node1"), 0u);
  EXPECT_TRUE(publish("node1", ro).isOk());
  // A mode that is not known (a rebuilt attachment) is not held against anyone.
  VolumePolicy unknown = rw;
  unknown.nodeMode.clear();
  EXPECT_TRUE(publish("node3", unknown).isOk());
  EXPECT_TRUE(publish("node3", ro).isOk());
}

TEST_F(AttachmentManagerTest, UnpublishOfUnattachedNodeIsSuccess) {
  auto planned = manager_->planUnpublish(kVolume, "node1");
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Unpublish::kNotAttached);
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk());
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kExclusive)).isOk());
  planned = manager_->planUnpublish(kVolume, "node9");
  ASSERT_TRUE(planned.isOk());
  EXPECT_EQ(planned->action, Unpublish::kNotAttached);
  observer_.clear();
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk());
  EXPECT_EQ(observer_.total(), 0u);
}

TEST_F(AttachmentManagerTest, LastDetachForgetsTheVolumeDurably) {
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kExclusive)).isOk());
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kExclusive), "rds:other").isOk());
  ASSERT_TRUE(unpublish("node1").isOk());
  ASSERT_EQ(observer_.changes.size(), 3u);
  EXPECT_TRUE(observer_.changes.back().nodes.empty());
  EXPECT_EQ(observer_.changes.back().volumeId, kVolume);
  EXPECT_EQ(observer_.changes.back().metricsPrefix, "rds_csi");
  ASSERT_EQ(manager_->all().size(), 1u);
  EXPECT_EQ(manager_->all()[0].volumeId, "rds:other");
  auto stored = store_->loadAll();
  ASSERT_TRUE(stored.isOk());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].volumeId, "rds:other");
}

TEST_F(AttachmentManagerTest, FailedSaveLeavesMemoryUnchangedAndReportsNothing) {
  startMigration();
  const auto before = manager_->state(kVolume);
  auto planned = manager_->planUnpublish(kVolume, "node1");
  ASSERT_TRUE(planned.isOk());
  lockDatabase();
  Status committed = manager_->commitUnpublish(*planned);
  EXPECT_EQ(committed.code(), Code::kInternal);
  EXPECT_THAT(committed.message(), HasSubstr(dir_.file("attach.db")));
  EXPECT_EQ(manager_->state(kVolume), before);
  EXPECT_EQ(observer_.total(), 0u);

  auto publishPlan = plan("node9", policy(AttachSemantics::kExclusive), "rds:new");
  ASSERT_TRUE(publishPlan.isOk());
  EXPECT_EQ(manager_->commitPublish(*publishPlan).code(), Code::kInternal);
  EXPECT_TRUE(manager_->state("rds:new").nodes.empty());

  unlockDatabase();
  ASSERT_TRUE(manager_->commitUnpublish(*planned).isOk()) << "the same plan commits later";
  EXPECT_EQ(observer_.completed.size(), 1u);
}

TEST_F(AttachmentManagerTest, FailedTimeoutRecordIsReturnedAndReportedLater) {
  startMigration();
  time_.advance(seconds(301));
  lockDatabase();
  Status refused = publish("node3", policy(AttachSemantics::kMigrationWindow));
  EXPECT_EQ(refused.code(), Code::kInternal);
  EXPECT_TRUE(observer_.failed.empty());
  EXPECT_FALSE(manager_->state(kVolume).migrationTimedOut);
  unlockDatabase();
  EXPECT_EQ(publish("node3", policy(AttachSemantics::kMigrationWindow)).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(observer_.failed.size(), 1u);
}

TEST_F(AttachmentManagerTest, StalePlanIsAborted) {
  ASSERT_TRUE(publish("a", policy(AttachSemantics::kShared)).isOk());
  auto first = plan("b", policy(AttachSemantics::kShared));
  auto second = plan("c", policy(AttachSemantics::kShared));
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(second.isOk());
  ASSERT_TRUE(manager_->commitPublish(*first).isOk());
  EXPECT_EQ(manager_->commitPublish(*second).code(), Code::kAborted);
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("a", "b"));
}

TEST_F(AttachmentManagerTest, DifferentSemanticsCannotJoin) {
  ASSERT_TRUE(publish("a", policy(AttachSemantics::kShared)).isOk());
  Status refused = publish("b", policy(AttachSemantics::kExclusive));
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("shared"));
  EXPECT_THAT(refused.message(), HasSubstr("exclusive"));
  EXPECT_EQ(observer_.conflicts.size(), 1u);
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("a"));
}

TEST_F(AttachmentManagerTest, InvalidArgumentsAreRejected) {
  EXPECT_EQ(plan("node1", policy(AttachSemantics::kExclusive), "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(plan("", policy(AttachSemantics::kExclusive)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(plan("node1", policy(AttachSemantics::kUnsupported)).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(plan("node1", policy(AttachSemantics::kMigrationWindow, seconds(0))).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(manager_->planUnpublish("", "node1").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(manager_->planUnpublish(kVolume, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(observer_.total(), 0u);
}

TEST_F(AttachmentManagerTest, ForgetDetachesWithoutAMigrationOutcome) {
  startMigration();
  time_.advance(seconds(30));
  auto source = manager_->planUnpublish(kVolume, "node1");
  ASSERT_TRUE(source.isOk());
  EXPECT_EQ(source->action, Unpublish::kCompleteMigration);
  ASSERT_TRUE(manager_->commitForget(*source).isOk());
  EXPECT_THAT(manager_->state(kVolume).nodes, ElementsAre("node2"));
  EXPECT_FALSE(manager_->state(kVolume).migrating());
  // Detached outside the driver: no MigrationCompleted, no MigrationFailed; the gauges follow.
  EXPECT_TRUE(observer_.completed.empty());
  EXPECT_TRUE(observer_.failed.empty());
  ASSERT_EQ(observer_.changes.size(), 1u);
  EXPECT_THAT(observer_.changes[0].nodes, ElementsAre("node2"));
  EXPECT_EQ(manager_->commitForget(*source).code(), Code::kAborted) << "a stale plan";

  auto again = manager_->planUnpublish(kVolume, "node1");
  ASSERT_TRUE(again.isOk());
  EXPECT_TRUE(manager_->commitForget(*again).isOk()) << "forgetting what is gone is fine";
  auto target = manager_->planUnpublish(kVolume, "node2");
  ASSERT_TRUE(target.isOk());
  ASSERT_TRUE(manager_->commitForget(*target).isOk());
  EXPECT_TRUE(manager_->all().empty());
  EXPECT_TRUE(observer_.failed.empty());
  EXPECT_EQ(observer_.changes.size(), 2u);
  restart();
  EXPECT_TRUE(manager_->all().empty()) << "the forgetting is persisted";
}

TEST_F(AttachmentManagerTest, CorruptStoreFailsConstructionLoudly) {
  ASSERT_TRUE(publish("node1", policy(AttachSemantics::kExclusive)).isOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.file("attach.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE volumes SET semantics = 'bogus'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto refused = AttachmentManager::create(*store_, observer_, time_);
  ASSERT_FALSE(refused.isOk()) << "made from a corrupt store";
  EXPECT_EQ(refused.status().code(), Code::kInternal);
  EXPECT_THAT(refused.status().message(), HasSubstr(kVolume));
  EXPECT_THAT(refused.status().message(), HasSubstr("bogus"));
}

TEST(AttachmentManagerThreadsTest, ConcurrentVolumesDoNotInterfere) {
  TempDir dir;
  AttachmentStore::Options options;
  options.durable = false;
  auto store = AttachmentStore::open(dir.file("attach.db"), options);
  ASSERT_TRUE(store.isOk());
  NullMigrationObserver observer;
  FakeTime time;
  auto created = AttachmentManager::create(**store, observer, time);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  AttachmentManager& manager = **created;
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string volume = "be:vol-" + std::to_string(t);
      const VolumePolicy p{AttachSemantics::kMigrationWindow, seconds(300)};
      for (int round = 0; round < kRounds; ++round) {
        // Migrate back and forth between two nodes; after an even number of rounds it is back on
        // node-a.
        const std::string from = round % 2 == 0 ? "node-a" : "node-b";
        const std::string to = round % 2 == 0 ? "node-b" : "node-a";
        if (round == 0) {
          auto first = manager.planPublish(volume, from, p, "be", "be", {});
          if (!first.isOk() || !manager.commitPublish(*first).isOk()) ++failures[t];
        }
        auto start = manager.planPublish(volume, to, p, "be", "be", {});
        if (!start.isOk() || start->action != PublishPlan::Action::kStartMigration ||
            !manager.commitPublish(*start).isOk())
          ++failures[t];
        auto done = manager.planUnpublish(volume, from);
        if (!done.isOk() || done->action != UnpublishPlan::Action::kCompleteMigration ||
            !manager.commitUnpublish(*done).isOk())
          ++failures[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
  const auto states = manager.all();
  ASSERT_EQ(states.size(), static_cast<size_t>(kThreads));
  for (const auto& state : states) EXPECT_THAT(state.nodes, ElementsAre("node-a"));
  auto stored = (*store)->loadAll();
  ASSERT_TRUE(stored.isOk());
  EXPECT_EQ(*stored, states);
}

TEST(SystemTimeTest, FollowsTheSystemClock) {
  const auto before = Clock::now();
  const auto now = systemTime().now();
  EXPECT_GE(now, before);
  EXPECT_LE(now, Clock::now());
}

}  // namespace
}  // namespace polycsi::attach
