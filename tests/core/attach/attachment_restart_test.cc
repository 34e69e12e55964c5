// A controller restart in the middle of a migration: the window, its start time and its
// limit survive, because every transition was committed to SQLite before it was acknowledged.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "attach/attachment_manager.hpp"
#include "test_support.hpp"

namespace polycsi::attach {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using testing::FakeTime;
using testing::RecordingObserver;
using testing::TempDir;

constexpr const char* kVolume = "rds:pvc-a1b2c3d4";
const VolumePolicy kMigratable{AttachSemantics::kMigrationWindow, seconds(300)};

std::unique_ptr<AttachmentStore> openStore(const std::string& path) {
  auto store = AttachmentStore::open(path);
  if (!store.isOk()) throw std::runtime_error(store.status().toString());
  return std::move(store).value();
}

Status publish(AttachmentManager& manager, const std::string& node) {
  auto plan = manager.planPublish(kVolume, node, kMigratable, "rds", "rds_csi",
                                  PvcRef{"vm-disk", "default"});
  if (!plan.isOk()) return plan.status();
  return manager.commitPublish(*plan);
}

TEST(AttachmentRestartTest, MigrationWindowSurvivesRestart) {
  TempDir dir;
  const auto path = dir.file("attachments.db");
  FakeTime time;
  RecordingObserver observer;
  VolumeAttachmentState beforeRestart;
  {
    auto store = openStore(path);
    auto created = AttachmentManager::create(*store, observer, time);
    ASSERT_TRUE(created.isOk()) << created.status().toString();
    AttachmentManager& manager = **created;
    ASSERT_TRUE(publish(manager, "node1").isOk());
    time.advance(seconds(5));
    ASSERT_TRUE(publish(manager, "node2").isOk());
    ASSERT_EQ(observer.started.size(), 1u);
    beforeRestart = manager.state(kVolume);
  }  // the controller goes away: manager and store are destroyed

  time.advance(milliseconds(40'500));
  auto store = openStore(path);
  auto created = AttachmentManager::create(*store, observer, time);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  AttachmentManager& manager = **created;
  EXPECT_EQ(manager.state(kVolume), beforeRestart);

  Status third = publish(manager, "node3");
  EXPECT_EQ(third.code(), Code::kFailedPrecondition);
  EXPECT_EQ(third.message(),
            "Volume rds:pvc-a1b2c3d4 already attached to 2 nodes (migration limit). Attached "
            "nodes: [node1, node2]");

  auto plan = manager.planUnpublish(kVolume, "node1");
  ASSERT_TRUE(plan.isOk());
  EXPECT_EQ(plan->action, UnpublishPlan::Action::kCompleteMigration);
  ASSERT_TRUE(manager.commitUnpublish(*plan).isOk());
  ASSERT_EQ(observer.completed.size(), 1u);
  // Measured from the original start (before the restart), to the millisecond.
  EXPECT_EQ(observer.completed[0].duration, milliseconds(40'500));
  EXPECT_EQ(observer.completed[0].source, "node1");
  EXPECT_EQ(observer.completed[0].target, "node2");
  EXPECT_THAT(manager.state(kVolume).nodes, ElementsAre("node2"));
}

TEST(AttachmentRestartTest, ExpiryAfterRestartUsesTheOriginalStart) {
  TempDir dir;
  const auto path = dir.file("attachments.db");
  FakeTime time;
  RecordingObserver observer;
  {
    auto store = openStore(path);
    auto created = AttachmentManager::create(*store, observer, time);
    ASSERT_TRUE(created.isOk()) << created.status().toString();
    AttachmentManager& manager = **created;
    ASSERT_TRUE(publish(manager, "node1").isOk());
    ASSERT_TRUE(publish(manager, "node2").isOk());
  }
  time.advance(seconds(302));
  auto store = openStore(path);
  auto created = AttachmentManager::create(*store, observer, time);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  AttachmentManager& manager = **created;
  Status refused = publish(manager, "node3");
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "Volume rds:pvc-a1b2c3d4 migration timeout exceeded (5m2s elapsed, 5m0s max). "
            "Previous migration may be stuck. Detach source node to reset, or adjust "
            "migrationTimeoutSeconds in StorageClass.");
  ASSERT_EQ(observer.failed.size(), 1u);
  EXPECT_EQ(observer.failed[0].elapsed, seconds(302));
}

}  // namespace
}  // namespace polycsi::attach
