#include "attach/migration_window_watcher.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "test_support.hpp"

namespace polycsi::attach {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::TempDir;

// A clock the test moves, read by the watcher's thread.
class SharedFakeTime : public TimeSource {
 public:
  Clock::time_point now() const override { return Clock::time_point(Clock::duration(ticks_)); }
  void advance(Clock::duration d) { ticks_ += d.count(); }

 private:
  std::atomic<Clock::rep> ticks_{Clock::duration(seconds(1714564800)).count()};
};

// Counts timeouts reported from any thread; waits (bounded) for them.
class TimeoutCounter : public NullMigrationObserver {
 public:
  void migrationFailed(const VolumeAttachmentState& state, const std::string&, const std::string&,
                       const std::string& reason, milliseconds) override {
    std::lock_guard lock(mu_);
    if (reason == "timeout") timedOut_.push_back(state.volumeId);
    changed_.notify_all();
  }
  std::vector<std::string> waitFor(size_t count) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, seconds(20), [&] { return timedOut_.size() >= count; });
    return timedOut_;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> timedOut_;
};

TEST(MigrationWindowWatcherTest, EndsAWindowAtExpiryWithoutAnyCall) {
  TempDir dir;
  auto store = AttachmentStore::open(dir.file("attach.db"));
  ASSERT_TRUE(store.isOk());
  SharedFakeTime time;
  TimeoutCounter observer;
  auto created = AttachmentManager::create(**store, observer, time);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  AttachmentManager& manager = **created;
  const VolumePolicy window{AttachSemantics::kMigrationWindow, seconds(30), ""};
  for (const char* node : {"node-a", "node-b"}) {
    auto plan = manager.planPublish("be:vm-disk", node, window, "be", "be_csi", {});
    ASSERT_TRUE(plan.isOk());
    ASSERT_TRUE(manager.commitPublish(*plan).isOk());
  }

  auto watcher = MigrationWindowWatcher::create(manager, milliseconds(20)).value();
  ASSERT_TRUE(watcher->start().isOk());
  time.advance(seconds(31));
  EXPECT_EQ(observer.waitFor(1), std::vector<std::string>{"be:vm-disk"});
  watcher->stop();
  EXPECT_TRUE(manager.state("be:vm-disk").migrationTimedOut);
  EXPECT_EQ(manager.state("be:vm-disk").nodes.size(), 2u) << "ending a window detaches nobody";
}

TEST(MigrationWindowWatcherTest, StopsPromptlyAndTwiceIsFine) {
  TempDir dir;
  auto store = AttachmentStore::open(dir.file("attach.db"));
  ASSERT_TRUE(store.isOk());
  NullMigrationObserver observer;
  auto created = AttachmentManager::create(**store, observer);
  ASSERT_TRUE(created.isOk()) << created.status().toString();
  AttachmentManager& manager = **created;
  auto watcher = MigrationWindowWatcher::create(manager, std::chrono::hours(1)).value();
  ASSERT_TRUE(watcher->start().isOk());
  const Status again = watcher->start();
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.message(), "migration window watcher already started");
  watcher->stop();  // returns although the wait would last an hour
  watcher->stop();
  const auto refused = MigrationWindowWatcher::create(manager, milliseconds(0));
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), "migration window watcher: maxWait must be positive");
}

}  // namespace
}  // namespace polycsi::attach
