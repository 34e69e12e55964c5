// SshSessionPool against rds-sim over real SSH: queued callers are served in the order they
// came, and identical reads queued together are sent once. The pool's one session is held
// busy by rds-sim's `hold-after` fault (the held command is in the simulator's command log, so
// the test knows it arrived); the test then queues callers, watching waitingCallers(), and
// releases the hold. The simulator's command log shows what reached the RDS and in which order.
// No assertion reads a clock.
#include "ssh_session_pool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "rds_sim_process.hpp"
#include "routeros_command.hpp"
#include "temp_directory.hpp"

namespace polycsi::rds_nvme {
namespace {

using polycsi::testing::RdsSimProcess;

class RdsSshPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_.start();
    SshPoolOptions options;
    options.ssh.host = "127.0.0.1";
    options.ssh.port = sim_.port();
    options.ssh.user = RdsSimProcess::kUser;
    options.ssh.privateKeyFile = sim_.clientKeyFile();
    options.ssh.hostKeyFingerprint = sim_.hostKeyFingerprint();
    options.ssh.connectTimeout = std::chrono::seconds(10);
    options.size = 1;
    pool_ = std::make_unique<SshSessionPool>(options, [](const std::string&) {});
  }

  static Call call() {
    Call c;
    c.timeout = std::chrono::seconds(60);
    return c;
  }
  static RouterOsCommand printSlot(const std::string& slot) {
    return RouterOsCommand::printDiskBySlot(SlotName::parse(slot, "test slot"));
  }
  std::future<CommandReply> runAsync(const RouterOsCommand& command) {
    return std::async(std::launch::async, [this, command] { return pool_->run(command, call()); });
  }
  // Waits (bounded) until `done` holds; false when it never did.
  template <typename Done>
  static bool eventually(Done done) {
    for (int i = 0; i < 4000; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }
  int sent(const std::string& text) {
    auto log = sim_.commandsByKey();
    return static_cast<int>(std::count(log.begin(), log.end(), text));
  }
  // Makes the pool's only session busy with a command rds-sim holds; returns its reply.
  std::future<CommandReply> holdTheSession() {
    sim_.fault("hold-after=1");
    auto blocker = runAsync(printSlot("pvc-blocker"));
    EXPECT_TRUE(eventually([&] { return sent(printSlot("pvc-blocker").text()) == 1; }));
    return blocker;
  }

  polycsi::testing::TempDir dir_{"polycsi-rds-pool"};
  RdsSimProcess sim_{dir_.str() + "/sim"};
  std::unique_ptr<SshSessionPool> pool_;
};

TEST_F(RdsSshPoolTest, IdenticalReadsQueuedTogetherAreSentOnce) {
  auto blocker = holdTheSession();
  const RouterOsCommand read = printSlot("pvc-shared");
  std::vector<std::future<CommandReply>> readers;
  for (int i = 0; i < 3; ++i) readers.push_back(runAsync(read));
  ASSERT_TRUE(eventually([&] { return pool_->waitingCallers() == 3; }));
  sim_.fault("reset");  // the held command's connection drops; the queue goes on
  std::vector<std::string> outputs;
  for (auto& reader : readers) {
    CommandReply reply = reader.get();
    EXPECT_EQ(reply.exitStatus, 0);
    outputs.push_back(reply.output);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[1], outputs[2]);
  EXPECT_EQ(sent(read.text()), 1);
  EXPECT_EQ(blocker.get().exitStatus, 0);  // read-only: retried on a new connection
}

TEST_F(RdsSshPoolTest, QueuedCallersAreServedInTheOrderTheyCame) {
  auto blocker = holdTheSession();
  std::vector<std::future<CommandReply>> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(runAsync(printSlot("pvc-q" + std::to_string(i))));
    // Each one queued before the next comes.
    ASSERT_TRUE(eventually([&] { return pool_->waitingCallers() == i + 1; }));
  }
  // The held command's connection drops; its caller retries (a read) and so comes after the
  // four: it must not take the freed room or session before them.
  sim_.fault("reset");
  for (auto& q : queued) EXPECT_EQ(q.get().exitStatus, 0);
  EXPECT_EQ(blocker.get().exitStatus, 0);
  std::vector<std::string> order = sim_.commandsByKey();
  order.erase(order.begin());  // the held command
  std::vector<std::string> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(printSlot("pvc-q" + std::to_string(i)).text());
  expected.push_back(printSlot("pvc-blocker").text());
  EXPECT_EQ(order, expected);
}

}  // namespace
}  // namespace polycsi::rds_nvme
