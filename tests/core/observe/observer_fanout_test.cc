#include "observe/observer_fanout.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "observe/leader_only_observer.hpp"

namespace polycsi::observe {
namespace {

// Records the calls it receives, as "<call>:<volumeId>".
class RecordingObserver : public attach::MigrationObserver {
 public:
  explicit RecordingObserver(bool throws = false) : throws_(throws) {}
  void migrationStarted(const attach::VolumeAttachmentState& s, const std::string&,
                        const std::string&) override {
    note("started", s);
  }
  void migrationCompleted(const attach::VolumeAttachmentState& s, const std::string&,
                          const std::string&, std::chrono::milliseconds) override {
    note("completed", s);
  }
  void migrationFailed(const attach::VolumeAttachmentState& s, const std::string&,
                       const std::string&, const std::string& reason,
                       std::chrono::milliseconds) override {
    note("failed(" + reason + ")", s);
  }
  void attachmentConflict(const attach::VolumeAttachmentState& s, const std::string&,
                          const std::string&) override {
    note("conflict", s);
  }
  void attachmentsChanged(const attach::VolumeAttachmentState& s) override { note("changed", s); }

  std::vector<std::string> calls;

 private:
  void note(const std::string& what, const attach::VolumeAttachmentState& s) {
    calls.push_back(what + ":" + s.volumeId);
    if (throws_) throw std::runtime_error("observer broke");
  }
  bool throws_;
};

TEST(ObserverFanoutTest, ForwardsEveryCallToEveryObserverEvenWhenOneThrows) {
  RecordingObserver broken(/*throws=*/true);
  RecordingObserver healthy;
  ObserverFanout fanout({&broken, nullptr, &healthy});
  attach::VolumeAttachmentState state;
  state.volumeId = "v1";
  fanout.migrationStarted(state, "a", "b");
  fanout.migrationCompleted(state, "a", "b", std::chrono::milliseconds(5));
  fanout.migrationFailed(state, "a", "b", "timeout", std::chrono::milliseconds(5));
  fanout.attachmentConflict(state, "c", "no");
  fanout.attachmentsChanged(state);
  const std::vector<std::string> expected = {"started:v1", "completed:v1", "failed(timeout):v1",
                                             "conflict:v1", "changed:v1"};
  EXPECT_EQ(broken.calls, expected);
  EXPECT_EQ(healthy.calls, expected);
}

TEST(LeaderOnlyObserverTest, AStandbyAnnouncesNothingButKeepsItsGaugesCurrent) {
  RecordingObserver inner;
  bool leading = false;
  LeaderOnlyObserver gated(inner, [&] { return leading; });
  attach::VolumeAttachmentState s;
  s.volumeId = "rds:vm";
  gated.migrationStarted(s, "a", "b");
  gated.migrationCompleted(s, "a", "b", std::chrono::milliseconds(5));
  gated.migrationFailed(s, "a", "b", "timeout", std::chrono::milliseconds(5));
  gated.attachmentConflict(s, "c", "refused");
  gated.attachmentsChanged(s);
  EXPECT_EQ(inner.calls, std::vector<std::string>{"changed:rds:vm"});
  leading = true;
  gated.migrationStarted(s, "a", "b");
  gated.attachmentConflict(s, "c", "refused");
  EXPECT_EQ(inner.calls,
            (std::vector<std::string>{"changed:rds:vm", "started:rds:vm", "conflict:rds:vm"}));
}

}  // namespace
}  // namespace polycsi::observe
