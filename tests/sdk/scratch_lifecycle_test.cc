// The SDK example plugin, built out of tree against the installed SDK (by the
// sdk_install_builds_example fixture), loaded into a real `polycsi serve` and driven through the
// whole CSI lifecycle over gRPC: what a third party's plugin goes through in a cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "driver_test.hpp"

namespace polycsi::testing {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;
using ::testing::HasSubstr;

const std::string kPluginDir = SCRATCH_PLUGIN_DIR;
const std::string kPluginFile = kPluginDir + "/polycsi_scratch.so";

// "<fstype> <source>" of the mount at exactly `path`, from /proc/self/mountinfo, or nullopt.
std::optional<std::string> mountAt(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::optional<std::string> found;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mountPoint;
    fields >> id >> parent >> device >> root >> mountPoint;
    if (mountPoint != path) continue;
    std::string field;
    while (fields >> field && field != "-") {
    }
    std::string fsType, source;
    fields >> fsType >> source;
    found = fsType + " " + source;  // the last one is the topmost mount
  }
  return found;
}

class ScratchLifecycleTest : public DriverTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests mount tmpfs: run them as root";
    ASSERT_TRUE(std::filesystem::exists(kPluginFile))
        << kPluginFile << " is missing: the sdk_install_builds_example test builds it";
    startDriver(
        "backends:\n  - name: scratch\n    plugin: scratch\n    default: true\n"
        "    settings:\n      max_total_bytes: 33554432\n",
        kPluginDir);
  }
};

TEST_F(ScratchLifecycleTest, TheOutOfTreePluginIsLoadedAndAdvertised) {
  csi::v1::GetPluginInfoResponse info;
  ASSERT_OK(csi_->pluginInfo(&info));
  EXPECT_EQ(info.manifest().at("backend/scratch"), "scratch 0.1.0");
}

TEST_F(ScratchLifecycleTest, WholeLifecycleOnATmpfsIsIdempotent) {
  const auto cap = mountCapability(Mode::SINGLE_NODE_WRITER, "");
  csi::v1::CreateVolumeResponse created, again;
  ASSERT_OK(csi_->create("pvc-scratch", 8 * kMiB, cap, &created));
  ASSERT_OK(csi_->create("pvc-scratch", 8 * kMiB, cap, &again));
  const csi::v1::Volume& volume = created.volume();
  const std::string vol = volume.volume_id();
  EXPECT_EQ(again.volume().volume_id(), vol);
  EXPECT_EQ(volume.capacity_bytes(), 8 * kMiB);
  EXPECT_EQ(volume.volume_context().at("scratch.polycsi.io/size-bytes"), std::to_string(8 * kMiB));

  const std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(vol, node, cap, contextOf(volume)));
  ASSERT_OK(csi_->controllerPublish(vol, node, cap, contextOf(volume)));
  const std::string staging = work_.str() + "/staging";
  const std::string target = work_.str() + "/target";
  ASSERT_OK(csi_->stage(vol, staging, cap, contextOf(volume)));
  ASSERT_OK(csi_->stage(vol, staging, cap, contextOf(volume)));
  EXPECT_EQ(mountAt(staging), "tmpfs scratch-pvc-scratch");
  ASSERT_OK(csi_->publish(vol, staging, target, cap, contextOf(volume)));
  ASSERT_OK(csi_->publish(vol, staging, target, cap, contextOf(volume)));

  { std::ofstream(target + "/data.txt") << "in memory"; }
  {
    std::ifstream back(staging + "/data.txt");  // closed before unstaging, which needs it idle
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(back), {}), "in memory")
        << "the target must be a bind mount of the staged tmpfs";
  }

  csi::v1::NodeGetVolumeStatsResponse stats;
  ASSERT_OK(csi_->volumeStats(vol, target, &stats));
  ASSERT_GE(stats.usage_size(), 1);
  EXPECT_EQ(stats.usage(0).total(), 8 * kMiB) << "the tmpfs size is the volume's capacity";
  EXPECT_GT(stats.usage(0).used(), 0);
  EXPECT_FALSE(stats.volume_condition().abnormal());

  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->unstage(vol, staging));
  EXPECT_EQ(mountAt(staging), std::nullopt);

  // Scratch data lives only while staged: staged again, the volume is empty.
  ASSERT_OK(csi_->stage(vol, staging, cap, contextOf(volume)));
  EXPECT_FALSE(std::filesystem::exists(staging + "/data.txt"));
  ASSERT_OK(csi_->unstage(vol, staging));

  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->deleteVolume(vol));
  ASSERT_OK(csi_->deleteVolume(vol));
}

TEST_F(ScratchLifecycleTest, TheCapabilityMatrixAndBudgetReachTheUser) {
  csi::v1::CreateVolumeResponse resp;
  auto shared =
      csi_->create("pvc-rwx", kMiB, mountCapability(Mode::MULTI_NODE_MULTI_WRITER, ""), &resp);
  EXPECT_EQ(shared.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(shared.error_message(), HasSubstr("one node's memory"));
  auto block = csi_->create("pvc-block", kMiB, blockCapability(), &resp);
  EXPECT_EQ(block.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(block.error_message(), HasSubstr("no block device"));

  const auto cap = mountCapability(Mode::SINGLE_NODE_WRITER, "");
  auto tooBig = csi_->create("pvc-huge", 64 * kMiB, cap, &resp);
  EXPECT_EQ(tooBig.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(tooBig.error_message(), HasSubstr("max_total_bytes=33554432"));
}

}  // namespace
}  // namespace polycsi::testing
