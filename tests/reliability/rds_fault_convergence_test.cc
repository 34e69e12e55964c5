// Every controller call of a volume's life (create, publish to the migration source, publish to
// the target, a refused third node, unpublish the source, unpublish the target, delete), each
// hit by an rds-sim fault armed right before it: a failed command, a connection dropped before
// the 1st…6th command, the reply of the 1st…6th command lost after it ran, a command held until
// the plugin's command timeout, a full pool. The orchestrator's retries must converge, and after
// every call the RDS must hold exactly what the controller reports: the disk exists once, the
// export allow-list names exactly the published nodes' NQNs, no third node and no second RWO
// node ever gets in, and a deleted volume leaves neither disk nor image file.
#include <gtest/gtest.h>

#include <iostream>

#include "rds_driver_harness.hpp"

namespace polycsi::reliability {
namespace {

using grpc::StatusCode;
using testing::RdsSimProcess;
using testing::TempDir;

// The command positions (1 = a call's first RouterOS command) the sweeps hit.
#ifdef RELIABILITY_FULL_SWEEP
constexpr unsigned kFirstPosition = 2, kLastPosition = 6;
#else
constexpr unsigned kFirstPosition = 4, kLastPosition = 4;
#endif

class RdsFaultConvergenceTestFixture : public RdsHarnessTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startSim()); }
  // A short command timeout, so a hung command costs a second or two rather than 30 s.
  void startDriver(int commandTimeoutSeconds = 5) {
    harness_->startDriver(
        "      command_timeout_seconds: " + std::to_string(commandTimeoutSeconds) + "\n");
  }
  void TearDown() override { stopAll(); }

  // Arms `fault` (fresh counters), retries `rpc` until OK, disarms.
  void underFault(const std::string& fault, const std::string& what,
                  const std::function<grpc::Status()>& rpc) {
    sim_->fault("reset " + fault);
    grpc::Status s = harness_->untilOk(rpc);
    sim_->fault("reset");
    ASSERT_TRUE(s.ok()) << what << " under `" << fault
                        << "` did not converge: " << codeName(s.error_code()) << " "
                        << s.error_message();
  }

  // The controller and the RDS agree that exactly `nodes` hold `volume`.
  void expectAttached(const csi::v1::Volume& volume, const std::vector<TestNode>& nodes,
                      const std::string& when) {
    expectHeldBy(*harness_, *sim_, volume, nodes, when);
  }

  // Calls `rpc` until it gives a final answer (not a transient fault) and expects `code`.
  void expectRefused(StatusCode code, const std::string& fault, const std::string& what,
                     const std::function<grpc::Status()>& rpc) {
    sim_->fault("reset " + fault);
    grpc::Status s;
    for (int attempt = 0; attempt < 30; ++attempt) {
      s = rpc();
      if (s.error_code() != StatusCode::UNAVAILABLE &&
          s.error_code() != StatusCode::DEADLINE_EXCEEDED &&
          s.error_code() != StatusCode::INTERNAL && s.error_code() != StatusCode::ABORTED)
        break;
    }
    sim_->fault("reset");
    EXPECT_EQ(s.error_code(), code) << what << " under `" << fault << "`: " << s.error_message();
  }

  // A KubeVirt VM disk's whole life, and an RWO volume's, with `fault` armed before each call.
  void lifeUnder(const std::string& fault, unsigned index) {
    SCOPED_TRACE("fault " + fault);
    const TestNode a = testNode(1), b = testNode(2), c = testNode(3);
    csi::v1::Volume vm, rwo;
    const std::string vmName = volumeName(0xfa, 2 * index),
                      rwoName = volumeName(0xfa, 2 * index + 1);
    underFault(fault, "create RWX", [&] {
      return harness_->create(vmName, testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                              {{"migrationTimeoutSeconds", "300"}}, &vm);
    });
    ASSERT_EQ(vm.volume_id(), "rds:" + vmName);
    expectAttached(vm, {}, "created");
    underFault(fault, "publish source",
               [&] { return harness_->publish(vm, a, Mode::MULTI_NODE_MULTI_WRITER); });
    expectAttached(vm, {a}, "published to the source");
    underFault(fault, "publish target",
               [&] { return harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER); });
    expectAttached(vm, {a, b}, "migrating");
    expectRefused(StatusCode::FAILED_PRECONDITION, fault, "publish a third node",
                  [&] { return harness_->publish(vm, c, Mode::MULTI_NODE_MULTI_WRITER); });
    expectAttached(vm, {a, b}, "after the third node was refused");
    underFault(fault, "unpublish source", [&] { return harness_->unpublish(vm, a); });
    expectAttached(vm, {b}, "migrated");
    underFault(fault, "unpublish target", [&] { return harness_->unpublish(vm, b); });
    expectAttached(vm, {}, "detached");
    underFault(fault, "delete RWX", [&] { return harness_->deleteVolume(vm.volume_id()); });
    EXPECT_EQ(sim_->diskCount(vmName), 0);

    underFault(fault, "create RWO", [&] {
      return harness_->create(rwoName, testing::blockCapability(Mode::SINGLE_NODE_WRITER), {},
                              &rwo);
    });
    underFault(fault, "publish RWO",
               [&] { return harness_->publish(rwo, a, Mode::SINGLE_NODE_WRITER); });
    expectRefused(StatusCode::FAILED_PRECONDITION, fault, "publish RWO to a second node",
                  [&] { return harness_->publish(rwo, b, Mode::SINGLE_NODE_WRITER); });
    expectAttached(rwo, {a}, "RWO after a second node was refused");
    underFault(fault, "unpublish RWO", [&] { return harness_->unpublish(rwo, a); });
    underFault(fault, "delete RWO", [&] { return harness_->deleteVolume(rwo.volume_id()); });

    EXPECT_TRUE(volumeSlots(*sim_).empty()) << "disks left behind";
    EXPECT_TRUE(imageFiles(*sim_).empty())
        << "image files left behind: " << *imageFiles(*sim_).begin();
  }
};

// The full sweep is a separate ctest suite name, so both builds of this file can be registered.
#ifdef RELIABILITY_FULL_SWEEP
using RdsFaultConvergenceFullSweep = RdsFaultConvergenceTestFixture;
#define RELIABILITY_SUITE RdsFaultConvergenceFullSweep
#else
using RdsFaultConvergenceTest = RdsFaultConvergenceTestFixture;
#define RELIABILITY_SUITE RdsFaultConvergenceTest
#endif

TEST_F(RELIABILITY_SUITE, FailedCommandsAndAFullPool) {
  startDriver();
  lifeUnder("fail-next=yes", 0);
#ifdef RELIABILITY_FULL_SWEEP
  lifeUnder("fail-next=yes fail-message=\"failure: device or resource busy\"", 1);
#endif
  // A full pool refuses creating only; the orchestrator retries until space returns.
  sim_->fault("disk-full=yes");
  csi::v1::Volume v;
  grpc::Status full = harness_->create(volumeName(0xfb, 0),
                                       testing::blockCapability(Mode::SINGLE_NODE_WRITER), {}, &v);
  EXPECT_EQ(full.error_code(), StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  sim_->fault("reset");
  EXPECT_TRUE(volumeSlots(*sim_).empty()) << "a refused create left a disk";
  EXPECT_TRUE(imageFiles(*sim_).empty()) << "a refused create left a file";
  ASSERT_TRUE(harness_
                  ->untilOk([&] {
                    return harness_->create(volumeName(0xfb, 0),
                                            testing::blockCapability(Mode::SINGLE_NODE_WRITER), {},
                                            &v);
                  })
                  .ok());
  ASSERT_TRUE(harness_->untilOk([&] { return harness_->deleteVolume(v.volume_id()); }).ok());
  auto faults = faultsInjected(*sim_);
  EXPECT_GE(faults["fail"], 10);
  EXPECT_GE(faults["disk-full"], 1);
  std::cout << "fault convergence (failed commands): " << harness_->tally().summary() << "\n";
}

TEST_F(RELIABILITY_SUITE, ConnectionsDroppedBeforeEachCommand) {
  startDriver();
  // drop-after=N drops the connection carrying the (N+1)-th command: the 2nd to the 6th with
  // RELIABILITY_FULL_SWEEP, the 4th (a publish's fencing command) otherwise.
  for (unsigned n = kFirstPosition; n <= kLastPosition; ++n)
    lifeUnder("drop-after=" + std::to_string(n - 1), n);
  EXPECT_GE(faultsInjected(*sim_)["drop-before"],
            5 * static_cast<int>(kLastPosition - kFirstPosition + 1));
  std::cout << "fault convergence (dropped connections): " << harness_->tally().summary() << "\n";
}

TEST_F(RELIABILITY_SUITE, RepliesLostAfterEachCommandRan) {
  startDriver();
  // The reply of the N-th command: the 1st to the 6th with RELIABILITY_FULL_SWEEP, the 3rd
  // (a create's `/disk add`, an unpublish's fencing command) and the 4th otherwise.
  for (unsigned n = kFirstPosition - 1; n <= kLastPosition; ++n)
    lifeUnder("drop-reply-after=" + std::to_string(n), n);
  EXPECT_GE(faultsInjected(*sim_)["drop-reply"],
            5 * static_cast<int>(kLastPosition - kFirstPosition + 2));
  std::cout << "fault convergence (lost replies): " << harness_->tally().summary() << "\n";
}

#ifdef RELIABILITY_FULL_SWEEP
// (The default suite covers a hung command in tests/integration/rds_nvme_grpc_test.cc and with
// short holds in the soak; this costs a second per call.)
TEST_F(RELIABILITY_SUITE, CommandsHungPastTheCommandTimeout) {
  startDriver(/*commandTimeoutSeconds=*/1);
  // The 2nd command of each call hangs until the next arming; the plugin gives up after its
  // 1 s command timeout and the retry goes through. Slow commands below the timeout are
  // merely slow.
  lifeUnder("hold-after=2 delay-ms=100", 0);
  EXPECT_GE(faultsInjected(*sim_)["hold"], 8);
  std::cout << "fault convergence (hung commands): " << harness_->tally().summary() << "\n";
}
#endif

}  // namespace
}  // namespace polycsi::reliability
