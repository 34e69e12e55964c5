// The controller killed with SIGKILL at every step of a KubeVirt live migration on rds_nvme:
// during publish to the source, publish to the target and unpublish of the source, before each
// RouterOS command the call sends (the core's volume lookup, the plugin's checks, the fencing
// `/disk set` of the allow-list, its read-back), after the fencing command ran but before the
// controller recorded the attachment, and after the call answered. rds-sim holds the chosen
// command unrun (`hold-after`), so the kill lands exactly there.
//
// After each kill the controller restarts on its state and the orchestrator retries the call,
// as the external-attacher does. Then: the call converged, the volume is still there once, the
// controller's published nodes and the export's allow-list agree, the migration completes to
// the target, and deleting the volume leaves nothing on the RDS.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "rds_driver_harness.hpp"

namespace polycsi::reliability {
namespace {

using grpc::StatusCode;
using testing::RdsSimProcess;
using testing::TempDir;

enum class Step { kPublishSource, kPublishTarget, kUnpublishSource };

const char* stepName(Step step) {
  switch (step) {
    case Step::kPublishSource:
      return "publish source";
    case Step::kPublishTarget:
      return "publish target";
    case Step::kUnpublishSource:
      return "unpublish source";
  }
  return "?";
}

class ControllerKillTestFixture : public RdsHarnessTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startSim());
    harness_->startDriver("      command_timeout_seconds: 5\n");
  }
  void TearDown() override { stopAll(); }

  grpc::Status call(Step step, const csi::v1::Volume& vm) {
    switch (step) {
      case Step::kPublishSource:
        return harness_->publish(vm, a_, Mode::MULTI_NODE_MULTI_WRITER);
      case Step::kPublishTarget:
        return harness_->publish(vm, b_, Mode::MULTI_NODE_MULTI_WRITER);
      case Step::kUnpublishSource:
        return harness_->unpublish(vm, a_);
    }
    return grpc::Status(StatusCode::INTERNAL, "unknown step");
  }
  // Who holds the volume once `step` succeeded.
  std::vector<TestNode> after(Step step) const {
    switch (step) {
      case Step::kPublishSource:
        return {a_};
      case Step::kPublishTarget:
        return {a_, b_};
      case Step::kUnpublishSource:
        return {b_};
    }
    return {};
  }

  void converge(const std::function<grpc::Status()>& rpc, const std::string& what) {
    grpc::Status s = harness_->untilOk(rpc);
    ASSERT_TRUE(s.ok()) << what << ": " << codeName(s.error_code()) << " " << s.error_message();
  }

  void expectAttached(const csi::v1::Volume& volume, const std::vector<TestNode>& nodes,
                      const std::string& when) {
    expectHeldBy(*harness_, *sim_, volume, nodes, when);
  }

  // Waits until the simulator holds a command (true) or `rpc` answered (false).
  bool heldOrAnswered(std::future<grpc::Status>& rpc, size_t logFrom) {
    for (int i = 0; i < 600; ++i) {
      const std::string log = sim_->log();
      if (log.size() > logFrom &&
          log.find("fault injection: holding `", logFrom) != std::string::npos)
        return true;
      if (rpc.wait_for(std::chrono::milliseconds(25)) == std::future_status::ready) return false;
    }
    ADD_FAILURE() << "neither held nor answered within 15 s";
    return false;
  }

  // The command the simulator is holding, from its log.
  std::string heldCommand(size_t logFrom) {
    const std::string log = sim_->log();
    const std::string marker = "fault injection: holding `";
    size_t at = log.find(marker, logFrom);
    if (at == std::string::npos) return "";
    at += marker.size();
    return log.substr(at, log.find('`', at) - at);
  }

  // Kills the controller while it runs `step` on `vm` with `fault` armed (or right after the
  // call answered, when no command is held); restarts it and lets the orchestrator retry. Then
  // the controller and the export agree on the step's outcome. Returns the command the kill
  // interrupted ("" when the call answered first).
  std::string killDuring(Step step, const csi::v1::Volume& vm, const std::string& fault) {
    const std::string when = std::string(stepName(step)) + " with " + fault;
    SCOPED_TRACE(when);
    const size_t logFrom = sim_->log().size();
    sim_->fault("reset " + fault);
    std::future<grpc::Status> rpc = std::async(std::launch::async, [&] { return call(step, vm); });
    const bool held = heldOrAnswered(rpc, logFrom);
    const std::string command = held ? heldCommand(logFrom) : "";
    harness_->killDriver();
    grpc::Status interrupted = rpc.get();
    if (held) {
      EXPECT_FALSE(interrupted.ok()) << "the call answered although the controller died mid-call";
      ++kills_;
    } else {
      EXPECT_TRUE(interrupted.ok()) << interrupted.error_message();
      ++killsAfterAnswer_;
    }
    sim_->fault("reset");  // releases the held command: its connection drops, it never runs
    harness_->restartDriver();
    converge([&] { return call(step, vm); }, when + ": the orchestrator's retry");
    expectAttached(vm, after(step), when + ": after restart and retry");
    if (step == Step::kPublishTarget) {
      // The restarted controller knows the open window: a third node stays out.
      grpc::Status third = harness_->publish(vm, testNode(3), Mode::MULTI_NODE_MULTI_WRITER);
      EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
      EXPECT_NE(third.error_message().find("already attached to 2 nodes (migration limit)"),
                std::string::npos)
          << third.error_message();
    }
    return command;
  }

  // A VM disk migrated A -> B with the controller killed in each of the three calls; `faultFor`
  // gives the fault armed for each step. Detaches and deletes it at the end.
  void migrateWithKills(unsigned index, const std::function<std::string(Step)>& faultFor,
                        std::ostringstream& report) {
    csi::v1::Volume vm;
    const std::string name = volumeName(0xc1, index);
    converge(
        [&] {
          return harness_->create(name, testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                                  {{"migrationTimeoutSeconds", "600"}}, &vm);
        },
        "create " + name);
    if (HasFatalFailure()) return;
    for (Step step : {Step::kPublishSource, Step::kPublishTarget, Step::kUnpublishSource}) {
      const std::string fault = faultFor(step);
      const std::string command = killDuring(step, vm, fault);
      if (HasFatalFailure()) return;
      report << "  " << stepName(step) << " [" << fault << "]: killed "
             << (command.empty() ? "after the answer" : "before `" + command + "`") << "\n";
      if (command.rfind("/disk set", 0) == 0) fencingCommand_[step] = fault;
    }
    converge([&] { return harness_->unpublish(vm, b_); }, "unpublish target");
    expectAttached(vm, {}, "detached");
    converge([&] { return harness_->deleteVolume(vm.volume_id()); }, "delete");
    EXPECT_EQ(sim_->diskCount(slotOf(vm.volume_id())), 0);
  }

  const TestNode a_ = testNode(1), b_ = testNode(2);
  int kills_ = 0;
  int killsAfterAnswer_ = 0;
  std::map<Step, std::string> fencingCommand_;  // the `hold-after=N` that held `/disk set`
};

// The full sweep is a separate ctest suite name, so both builds of this file can be registered.
#ifdef RELIABILITY_FULL_SWEEP
using ControllerKillFullSweep = ControllerKillTestFixture;
#define RELIABILITY_SUITE ControllerKillFullSweep
#else
using ControllerKillTest = ControllerKillTestFixture;
#define RELIABILITY_SUITE ControllerKillTest
#endif

TEST_F(RELIABILITY_SUITE, KilledAtEveryStepOfALiveMigration) {
  std::ostringstream report;
  // Each round migrates a new VM disk and kills the controller in all three calls before the
  // N-th RouterOS command each sends. The last round's N exceeds every call's command count:
  // the controller dies right after each answer. A publish sends 4 commands (the core's volume
  // lookup, the plugin's disk check, the fencing `/disk set`, its read-back), an unpublish 3
  // (disk check, `/disk set`, read-back); docs/reliability.md lists them.
  // RELIABILITY_FULL_SWEEP covers every N; the default suite the first command, the fencing
  // `/disk set` (2nd of an unpublish, 3rd of a publish) and after the answer.
  const std::map<Step, int> commandsOf = {
      {Step::kPublishSource, 4}, {Step::kPublishTarget, 4}, {Step::kUnpublishSource, 3}};
#ifdef RELIABILITY_FULL_SWEEP
  const std::vector<int> rounds = {1, 2, 3, 4, 99};
#else
  const std::vector<int> rounds = {1, 2, 3, 99};
#endif
  int expectedKills = 0;
  for (int n : rounds)
    for (const auto& [step, commands] : commandsOf) expectedKills += n <= commands ? 1 : 0;
  unsigned index = 0;
  for (int n : rounds) {
    migrateWithKills(
        index++, [&](Step) { return "hold-after=" + std::to_string(n); }, report);
    if (HasFatalFailure()) return;
  }
  // After the fencing command ran but before the controller recorded the transition: its
  // reply is lost, and the plugin's read-back that follows is held.
  for (Step step : {Step::kPublishSource, Step::kPublishTarget, Step::kUnpublishSource})
    ASSERT_TRUE(fencingCommand_.count(step)) << stepName(step) << ": no kill before `/disk set`";
  migrateWithKills(
      index++,
      [&](Step step) {
        const int n = std::stoi(fencingCommand_[step].substr(std::string("hold-after=").size()));
        return "drop-reply-after=" + std::to_string(n) + " hold-after=" + std::to_string(n + 1);
      },
      report);
  EXPECT_TRUE(volumeSlots(*sim_).empty()) << "disks left behind";
  EXPECT_TRUE(imageFiles(*sim_).empty()) << "image files left behind";
  // Every round before a command killed mid-call, and so did the lost-reply round.
  EXPECT_EQ(kills_, expectedKills + 3);
  EXPECT_GE(killsAfterAnswer_, 3);
  std::cout << "controller kills mid-call: " << kills_
            << ", after the answer: " << killsAfterAnswer_ << "\n"
            << report.str() << harness_->tally().summary() << "\n";
}

}  // namespace
}  // namespace polycsi::reliability
