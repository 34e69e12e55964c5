// Concurrency of the controller: calls on different slots reach the RDS side by side, calls on
// one slot take turns (slot_locks.hpp), and how many RouterOS commands a create and a delete
// cost. A gate in front of the FakeRds holds every command until the test opens it, so the
// tests see which calls have a command on the wire at once; no assertion reads a clock.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rds_test_env.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

// Bounds every wait: a wrong controller makes the test fail, not hang.
constexpr std::chrono::seconds kGiveUp{20};

// Holds every command until open(); then forwards to the FakeRds.
class GatedTransport : public CommandTransport {
 public:
  explicit GatedTransport(FakeRds* rds) : rds_(rds) {}

  CommandReply run(const RouterOsCommand& command, const Call& call) override {
    {
      std::unique_lock lock(mu_);
      waiting_.push_back(command.text());
      changed_.notify_all();
      changed_.wait_for(lock, kGiveUp, [this] { return open_; });
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), command.text()));
    }
    return rds_->run(command, call);
  }

  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // Waits (at most kGiveUp) until `done` holds for the commands held now.
  template <typename Done>
  std::vector<std::string> waitUntil(Done done) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, kGiveUp, [&] { return done(waiting_); });
    return waiting_;
  }
  std::vector<std::string> held() {
    std::lock_guard lock(mu_);
    return waiting_;
  }

 private:
  FakeRds* rds_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> waiting_;
  bool open_ = false;
};

class RdsConcurrencyTest : public RdsBackendTest {
 protected:
  void SetUp() override {
    RdsBackendTest::SetUp();
    transports_ = [this](const RdsSettings&, const Host&) -> std::unique_ptr<CommandTransport> {
      return std::make_unique<ForwardingGate>(&gate_);
    };
  }
  // The backend owns its transport; the gate stays the test's.
  class ForwardingGate : public CommandTransport {
   public:
    explicit ForwardingGate(GatedTransport* gate) : gate_(gate) {}
    CommandReply run(const RouterOsCommand& command, const Call& call) override {
      return gate_->run(command, call);
    }

   private:
    GatedTransport* gate_;
  };

  std::future<StatusOr<Volume>> createAsync(const std::string& name) {
    return std::async(std::launch::async,
                      [this, name] { return backend_->createVolume(createRequest(name, kGiB)); });
  }
  bool loggedWaitFor(const std::string& slot) {
    for (const auto& line : host_.logs())
      if (line.message.find("waiting for the operation in progress on RDS disk " + slot) !=
          std::string::npos)
        return true;
    return false;
  }

  GatedTransport gate_{&rds_};
};

TEST_F(RdsConcurrencyTest, CreatesOfTwoVolumesReachTheRdsTogether) {
  start();
  auto a = createAsync("pvc-a");
  auto b = createAsync("pvc-b");
  // Both calls have their first command on the wire at once: nothing serialises them.
  auto held = gate_.waitUntil([](const auto& w) { return w.size() >= 2; });
  EXPECT_EQ(held.size(), 2u);
  gate_.open();
  EXPECT_TRUE(a.get().isOk());
  EXPECT_TRUE(b.get().isOk());
  EXPECT_EQ(rds_.count("/disk add"), 2);
}

TEST_F(RdsConcurrencyTest, CallsOnOneSlotTakeTurns) {
  start();
  auto first = createAsync("pvc-same");
  gate_.waitUntil([](const auto& w) { return !w.empty(); });
  // The second call for the slot waits for the first instead of sending its own print: it
  // either logs that it waits or (without a slot lock) puts a second command at the gate.
  auto second = createAsync("pvc-same");
  bool waited = false;
  for (int i = 0; i < 4000 && !waited && gate_.held().size() < 2; ++i) {
    waited = loggedWaitFor("pvc-same");
    if (!waited) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(waited);
  EXPECT_EQ(gate_.held().size(), 1u);
  gate_.open();
  auto one = first.get();
  auto other = second.get();
  ASSERT_TRUE(one.isOk()) << one.status().toString();
  ASSERT_TRUE(other.isOk()) << other.status().toString();
  EXPECT_EQ(one->id, other->id);
  EXPECT_EQ(rds_.count("/disk add"), 1);
  // The second call's print came after every command of the first.
  auto sent = rds_.commands();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent.back().rfind("/disk print", 0), 0u) << sent.back();
  EXPECT_EQ(std::count_if(sent.begin(), sent.end(),
                          [](const std::string& c) { return c.rfind("/disk set", 0) == 0; }),
            1);
}

// The RouterOS commands of one create and one delete: each state is printed once before it
// changes and once after, never printed twice in a row.
TEST_F(RdsConcurrencyTest, CreateAndDeleteSendNoRepeatedPrint) {
  gate_.open();
  start();
  rds_.clearCommands();
  Volume v = create("pvc-count", kGiB);
  std::vector<std::string> created = rds_.commands();
  EXPECT_EQ(created.size(), 5u) << ::testing::PrintToString(created);
  VolumeIdRequest del;
  del.volumeId = v.id;
  rds_.clearCommands();
  ASSERT_TRUE(backend_->deleteVolume(del).isOk());
  std::vector<std::string> deleted = rds_.commands();
  EXPECT_EQ(deleted.size(), 5u) << ::testing::PrintToString(deleted);
  for (const auto* list : {&created, &deleted})
    for (size_t i = 1; i < list->size(); ++i)
      EXPECT_NE((*list)[i], (*list)[i - 1]) << "sent twice in a row: " << (*list)[i];
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
