// The rules for several NodePublishVolume calls of one volume on one node, over gRPC against a
// real `polycsi serve` with the sample plugin, on real loop devices and mounts: CSI 1.12's second
// table (node_publications.hpp), ReadWriteOncePod (SINGLE_NODE_SINGLE_WRITER) at one target
// only, ReadWriteOnce as kubelet sends it to a driver advertising SINGLE_NODE_MULTI_WRITER.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <fstream>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "sample_driver_test.hpp"

namespace polycsi::testing {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

class SamplePublishRulesTest : public SampleDriverTest {
 protected:
  // Creates, controller-publishes and stages a 64 MiB ext4 volume with `cap`.
  std::string stagedVolume(const std::string& name, const csi::v1::VolumeCapability& cap) {
    csi::v1::CreateVolumeResponse created;
    auto status = csi_->create(name, 64 * kMiB, cap, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::string vol = created.volume().volume_id();
    EXPECT_TRUE(csi_->controllerPublish(vol, csi_->nodeId(), cap).ok());
    status = csi_->stage(vol, staging(), cap);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return vol;
  }
  void teardown(const std::string& vol) {
    ASSERT_OK(csi_->unstage(vol, staging()));
    ASSERT_OK(csi_->controllerUnpublish(vol, csi_->nodeId()));
    ASSERT_OK(csi_->deleteVolume(vol));
  }
  std::string staging() const { return work_.str() + "/staging"; }
  std::string target(const std::string& pod) const { return work_.str() + "/pods/" + pod; }
};

TEST_F(SamplePublishRulesTest, ReadWriteOncePodIsPublishedAtOneTargetOnly) {
  auto cap = mountCapability(Mode::SINGLE_NODE_SINGLE_WRITER, "ext4");
  std::string vol = stagedVolume("pvc-rwop", cap);
  ASSERT_OK(csi_->publish(vol, staging(), target("a"), cap));
  ASSERT_OK(csi_->publish(vol, staging(), target("a"), cap));  // a repeat is idempotent

  grpc::Status second = csi_->publish(vol, staging(), target("b"), cap);
  EXPECT_EQ(second.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(second.error_message().find(target("a")), std::string::npos) << second.error_message();
  EXPECT_EQ(::access(target("b").c_str(), F_OK), -1) << "a refused publish leaves no target";

  grpc::Status readonly = csi_->publish(vol, staging(), target("a"), cap, {}, true);
  EXPECT_EQ(readonly.error_code(), grpc::StatusCode::ALREADY_EXISTS) << readonly.error_message();

  // The rule outlives a restart of the node plugin.
  driver_->stop();
  driver_->start();
  EXPECT_EQ(csi_->publish(vol, staging(), target("b"), cap).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // Once the first pod is gone, the second may have the volume.
  ASSERT_OK(csi_->unpublish(vol, target("a")));
  ASSERT_OK(csi_->publish(vol, staging(), target("b"), cap));
  ASSERT_OK(csi_->unpublish(vol, target("b")));
  teardown(vol);
}

TEST_F(SamplePublishRulesTest, ATargetUnmountedBehindTheDriverNoLongerHoldsTheVolume) {
  auto cap = mountCapability(Mode::SINGLE_NODE_SINGLE_WRITER, "ext4");
  std::string vol = stagedVolume("pvc-stale", cap);
  ASSERT_OK(csi_->publish(vol, staging(), target("a"), cap));
  // As a node reboot or an operator would leave it: the record remembers a target that is
  // no longer mounted.
  ASSERT_EQ(::umount2(target("a").c_str(), 0), 0);
  ASSERT_OK(csi_->publish(vol, staging(), target("b"), cap));
  ASSERT_OK(csi_->unpublish(vol, target("b")));
  ASSERT_OK(csi_->unpublish(vol, target("a")));
  teardown(vol);
}

// kubelet sends SINGLE_NODE_MULTI_WRITER for ReadWriteOnce to a driver that advertises it, as
// polycsi does for every plugin; the sample plugin declares only SINGLE_NODE_WRITER.
TEST_F(SamplePublishRulesTest, ReadWriteOnceAsKubeletSendsItServesSeveralPodsOfTheNode) {
  auto cap = mountCapability(Mode::SINGLE_NODE_MULTI_WRITER, "ext4");
  std::string vol = stagedVolume("pvc-rwo", cap);
  ASSERT_OK(csi_->publish(vol, staging(), target("a"), cap));
  ASSERT_OK(csi_->publish(vol, staging(), target("b"), cap));
  { std::ofstream(target("a") + "/shared.txt") << "both"; }
  std::string seen;
  std::ifstream(target("b") + "/shared.txt") >> seen;
  EXPECT_EQ(seen, "both");

  // Another capability at another target is refused even for a multi-writer mode.
  auto readerOnly = mountCapability(Mode::SINGLE_NODE_READER_ONLY, "ext4");
  EXPECT_EQ(csi_->publish(vol, staging(), target("c"), readerOnly).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_OK(csi_->unpublish(vol, target("a")));
  ASSERT_OK(csi_->unpublish(vol, target("b")));
  teardown(vol);
}

}  // namespace
}  // namespace polycsi::testing
