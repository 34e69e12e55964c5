// The simulated command latency (CommandProcessorOptions::command_latency, --command-latency-ms):
// spent once per command, never for control commands, and by commands of different SSH
// connections at the same time. No assertion reads a clock: the latency is spent through a hook
// that records which commands wait together.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "disk_commands.hpp"
#include "ssh_server.hpp"
#include "ssh_test_client.hpp"
#include "temp_directory.hpp"

namespace rds_sim {
namespace {

using polycsi::testing::TempDir;
using std::chrono::milliseconds;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
// Bounds every wait of the hook: a serialising simulator makes the test fail, not hang.
constexpr std::chrono::seconds kGiveUp{20};

// A spend_latency hook: counts the commands spending their latency now and at most at once,
// and holds each one until `together` of them are waiting (or kGiveUp passed).
class LatencyGate {
 public:
  explicit LatencyGate(int together) : together_(together) {}

  std::function<void(milliseconds)> hook() {
    return [this](milliseconds latency) {
      std::unique_lock lock(mu_);
      latencies_.push_back(latency);
      ++waiting_;
      most_ = std::max(most_, waiting_);
      changed_.notify_all();
      changed_.wait_for(lock, kGiveUp, [this] { return most_ >= together_; });
      --waiting_;
    };
  }

  int mostAtOnce() const {
    std::lock_guard lock(mu_);
    return most_;
  }
  std::vector<milliseconds> latencies() const {
    std::lock_guard lock(mu_);
    return latencies_;
  }

 private:
  const int together_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  int waiting_ = 0;
  int most_ = 0;
  std::vector<milliseconds> latencies_;
};

class RdsSimCommandLatencyTest : public ::testing::Test {
 protected:
  explicit RdsSimCommandLatencyTest(int together = 2)
      : gate_(together),
        store_(dir_.path() / "state", {Pool{"storage-pool", dir_.path() / "pool", 100 * kGiB}}) {
    CommandProcessorOptions options;
    options.line_ending = "\n";
    options.command_latency = milliseconds(20);
    options.spend_latency = gate_.hook();
    processor_ = std::make_unique<CommandProcessor>(store_, faults_, nullptr, options);
  }

  TempDir dir_;
  LatencyGate gate_;
  DiskStore store_;
  FaultInjector faults_;
  std::unique_ptr<CommandProcessor> processor_;
};

TEST_F(RdsSimCommandLatencyTest, SpentOncePerCommandNotForControlCommands) {
  // With a gate of 2 a lone command would wait kGiveUp: a gate that never holds.
  CommandProcessorOptions options;
  options.line_ending = "\n";
  options.command_latency = milliseconds(20);
  LatencyGate once(1);
  options.spend_latency = once.hook();
  CommandProcessor processor(store_, faults_, nullptr, options);

  EXPECT_EQ(processor.execute("/disk print count-only", 64).exit_status, 0);
  EXPECT_EQ(processor.execute("/disk frobnicate", 64).exit_status, 1);  // errors take time too
  EXPECT_EQ(processor.execute("/polycsi-sim fault", 64).exit_status, 0);
  EXPECT_EQ(once.latencies(), (std::vector<milliseconds>{milliseconds(20), milliseconds(20)}));
}

TEST_F(RdsSimCommandLatencyTest, CommandsOfTwoCallersWaitAtTheSameTime) {
  // Each caller is held in its latency until the other one is there too: only a processor that
  // spends the latency outside its lock lets both in.
  auto first = std::async(std::launch::async,
                          [&] { return processor_->execute("/disk print count-only", 64); });
  auto second = std::async(std::launch::async,
                           [&] { return processor_->execute("/file print count-only", 64); });
  EXPECT_EQ(first.get().exit_status, 0);
  EXPECT_EQ(second.get().exit_status, 0);
  EXPECT_EQ(gate_.mostAtOnce(), 2);
}

TEST_F(RdsSimCommandLatencyTest, TwoSshConnectionsAreNotSerialised) {
  SshServerOptions server_options;
  server_options.host_key = dir_.path() / "host_key";
  server_options.password = "s3cret";
  // rds-sim's main() sets spdlog's default logger before any connection thread runs; here
  // the first log line would come from two connection threads at once, racing to build
  // spdlog's registry (a function-local static inside the uninstrumented libspdlog).
  spdlog::default_logger();
  SshServer server(server_options, *processor_);
  const std::uint16_t port = server.start();
  std::thread serving([&] { server.run(); });

  auto session = [&](const std::string& slot) {
    testing::SshTestClient client(port);
    if (!client.loginWithPassword("admin", "s3cret")) return client.lastError();
    return client
        .exec("/disk add type=file file-path=/storage-pool/" + slot +
              ".img file-size=1G slot=" + slot)
        .output;
  };
  auto first = std::async(std::launch::async, session, "a");
  auto second = std::async(std::launch::async, session, "b");
  EXPECT_EQ(first.get(), "");
  EXPECT_EQ(second.get(), "");
  server.stop();
  serving.join();
  EXPECT_EQ(gate_.mostAtOnce(), 2);
  EXPECT_EQ(gate_.latencies().size(), 2u);
}

}  // namespace
}  // namespace rds_sim
