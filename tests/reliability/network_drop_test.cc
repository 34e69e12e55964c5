// The network between the controller and the RDS fails: rds-sim runs in a private network
// namespace behind a veth pair, and nftables rules inside that namespace drop its SSH traffic,
// all of it or a random share. While traffic is dropped, calls fail with a transport code in
// bounded time (the plugin's command timeout) and change nothing they should not; once the
// network heals, the orchestrator's retries converge, a live migration completes with the
// allow-list matching the attachments, and nothing is left on the RDS.
#include <gtest/gtest.h>

#include <iostream>

#include "network_namespace.hpp"
#include "rds_driver_harness.hpp"

namespace polycsi::reliability {
namespace {

using grpc::StatusCode;
using testing::NetworkNamespace;
using testing::RdsSimProcess;
using testing::TempDir;

class NetworkDropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "run as root: the test makes a network namespace and nft rules";
    netns_ = std::make_unique<NetworkNamespace>(NetworkNamespace::Link::kVethToHost);
    sim_ = std::make_unique<RdsSimProcess>(work_.str() + "/rds");
    sim_->setAddress(netns_->namespaceAddress());
    netns_->runInside([&] { sim_->start(); });
    harness_ = std::make_unique<RdsDriverHarness>(work_.str(), *sim_);
    harness_->startDriver(
        "      command_timeout_seconds: 2\n      keepalive_interval_seconds: 5\n");
  }
  void TearDown() override {
    if (HasFailure() && harness_ && harness_->started())
      std::cerr << "driver log:\n" << harness_->driver().log() << "\nrds-sim log:\n" << sim_->log();
    harness_.reset();
    sim_.reset();  // stops rds-sim before its namespace goes
    netns_.reset();
  }

  void expectAttached(const csi::v1::Volume& volume, const std::vector<TestNode>& nodes) {
    expectHeldBy(*harness_, *sim_, volume, nodes, "network test");
  }

  TempDir work_;
  std::unique_ptr<NetworkNamespace> netns_;
  std::unique_ptr<RdsSimProcess> sim_;
  std::unique_ptr<RdsDriverHarness> harness_;
};

TEST_F(NetworkDropTest, CallsFailWhileTrafficIsDroppedAndConvergeWhenItFlowsAgain) {
  const TestNode a = testNode(1), b = testNode(2);
  csi::v1::Volume vm, late;
  ASSERT_TRUE(harness_
                  ->untilOk([&] {
                    return harness_->create(volumeName(0xd7, 1),
                                            testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                                            {{"migrationTimeoutSeconds", "600"}}, &vm);
                  })
                  .ok());
  ASSERT_TRUE(
      harness_->untilOk([&] { return harness_->publish(vm, a, Mode::MULTI_NODE_MULTI_WRITER); })
          .ok());

  // Every packet of the RDS's SSH port is dropped: no reset, no answer, as a cut cable.
  netns_->dropTcpPort(sim_->port());
  ASSERT_NE(netns_->ruleset().find("tcp dport " + std::to_string(sim_->port()) + " drop"),
            std::string::npos)
      << netns_->ruleset();
  grpc::Status created = harness_->create(
      volumeName(0xd7, 2), testing::blockCapability(Mode::SINGLE_NODE_WRITER), {}, &late);
  EXPECT_TRUE(created.error_code() == StatusCode::UNAVAILABLE ||
              created.error_code() == StatusCode::DEADLINE_EXCEEDED)
      << codeName(created.error_code()) << " " << created.error_message();
  EXPECT_NE(created.error_message().find("RDS"), std::string::npos)
      << "the plugin, not the client's deadline, ended the call: " << created.error_message();
  grpc::Status target = harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER);
  EXPECT_TRUE(target.error_code() == StatusCode::UNAVAILABLE ||
              target.error_code() == StatusCode::DEADLINE_EXCEEDED)
      << codeName(target.error_code()) << " " << target.error_message();

  // The network heals: the retries converge and the failed publish did not half-happen.
  netns_->clearDrops();
  expectAttached(vm, {a});
  ASSERT_TRUE(harness_
                  ->untilOk([&] {
                    return harness_->create(volumeName(0xd7, 2),
                                            testing::blockCapability(Mode::SINGLE_NODE_WRITER), {},
                                            &late);
                  })
                  .ok());
  ASSERT_TRUE(
      harness_->untilOk([&] { return harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER); })
          .ok());
  expectAttached(vm, {a, b});

  // A lossy network: a fifth of the packets vanish at random. Slower, but everything converges.
  netns_->dropTcpPort(sim_->port(), 20);
  ASSERT_TRUE(harness_->untilOk([&] { return harness_->unpublish(vm, a); }).ok());
  ASSERT_TRUE(harness_->untilOk([&] { return harness_->deleteVolume(late.volume_id()); }).ok());
  netns_->clearDrops();
  expectAttached(vm, {b});

  ASSERT_TRUE(harness_->untilOk([&] { return harness_->unpublish(vm, b); }).ok());
  expectAttached(vm, {});
  ASSERT_TRUE(harness_->untilOk([&] { return harness_->deleteVolume(vm.volume_id()); }).ok());
  EXPECT_TRUE(volumeSlots(*sim_).empty());
  EXPECT_TRUE(imageFiles(*sim_).empty());
  std::cout << "network drops: " << harness_->tally().summary() << "\n";
}

}  // namespace
}  // namespace polycsi::reliability
