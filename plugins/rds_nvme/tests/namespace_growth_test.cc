// Growing a namespace on the node, against a fake sysfs where the test plays the kernel: the
// namespace's size changes only once every controller of it was asked to rescan.
#include "namespace_growth.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "fake_sysfs.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

constexpr char kVolumeNqn[] = "nqn.2000-02.com.mikrotik:pvc-a";
constexpr int64_t kMiB = 1 << 20;

class NamespaceGrowthTest : public ::testing::Test {
 protected:
  void addBlockDevice(const std::string& ns, int64_t bytes) {
    fake_.addDevice(ns);
    std::filesystem::create_directories(fake_.sysRoot() / "class" / "block" / ns);
    setSize(ns, bytes);
  }
  void setSize(const std::string& ns, int64_t bytes) {
    std::ofstream(fake_.sysRoot() / "class" / "block" / ns / "size") << bytes / 512 << "\n";
  }
  std::string rescans(const std::string& controller) const {
    std::ifstream in(fake_.sysRoot() / "class" / "nvme" / controller / "rescan_controller");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The kernel as the test plays it: `ns` has `grownTo` once each of `controllers` rescanned.
  BlockDeviceSysfs blocks(const std::string& ns, int64_t grownTo,
                          std::vector<std::string> controllers) {
    return BlockDeviceSysfs(fake_.sysRoot(), [=, this] {
      ++pauses_;
      for (const auto& c : controllers)
        if (rescans(c) != "1\n") return;
      setSize(ns, grownTo);
    });
  }
  int64_t grow(const std::string& ns, int64_t required, const BlockDeviceSysfs& sysfs) {
    return rescanNamespace(NvmeSysfs(fake_.sysRoot()), sysfs, (fake_.devDir() / ns).string(),
                           required, Call{});
  }

  FakeSysfs fake_;
  int pauses_ = 0;
};

TEST_F(NamespaceGrowthTest, AMultipathHeadIsRescannedThroughEveryController) {
  fake_.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake_.addController("nvme2", kVolumeNqn, "tcp", "10.0.0.2", "4420");
  fake_.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1", "nvme2"}, {"nvme1n1"});
  addBlockDevice("nvme1n1", 64 * kMiB);
  EXPECT_EQ(grow("nvme1n1", 96 * kMiB, blocks("nvme1n1", 96 * kMiB, {"nvme1", "nvme2"})),
            96 * kMiB);
  EXPECT_EQ(rescans("nvme1"), "1\n");
  EXPECT_EQ(rescans("nvme2"), "1\n");
}

// One path is down: nvme2 reconnecting, nvme3 removed by the kernel while the subsystem still
// lists it. The head grows through the live path; the others are not written to.
TEST_F(NamespaceGrowthTest, APathThatIsDownIsSkippedAndTheHeadGrowsThroughTheLiveOne) {
  fake_.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake_.addController("nvme2", kVolumeNqn, "tcp", "10.0.1.1", "4420", "connecting");
  fake_.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1", "nvme2", "nvme3"}, {"nvme1n1"});
  fake_.removeController("nvme3");
  addBlockDevice("nvme1n1", 64 * kMiB);
  EXPECT_EQ(grow("nvme1n1", 96 * kMiB, blocks("nvme1n1", 96 * kMiB, {"nvme1"})), 96 * kMiB);
  EXPECT_EQ(rescans("nvme1"), "1\n");
  EXPECT_EQ(rescans("nvme2"), "");
  EXPECT_FALSE(std::filesystem::exists(fake_.sysRoot() / "class" / "nvme" / "nvme3"));
}

TEST_F(NamespaceGrowthTest, NoLivePathIsUnavailableNamingThePaths) {
  fake_.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420", "resetting");
  fake_.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1"}, {"nvme1n1"});
  addBlockDevice("nvme1n1", 64 * kMiB);
  try {
    grow("nvme1n1", 96 * kMiB, blocks("nvme1n1", 96 * kMiB, {"nvme1"}));
    FAIL() << "grew without a live path";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("nvme1 (resetting)"), std::string::npos) << e.what();
  }
}

TEST_F(NamespaceGrowthTest, WithoutMultipathTheNamespacesControllerIsRescanned) {
  fake_.addController("nvme0", "nqn.2014.08.org.nvmexpress:8086SSD", "pcie", "", "");
  fake_.addController("nvme3", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake_.addControllerNamespace("nvme3", "nvme3n1");
  addBlockDevice("nvme3n1", 64 * kMiB);
  EXPECT_EQ(grow("nvme3n1", 96 * kMiB, blocks("nvme3n1", 96 * kMiB, {"nvme3"})), 96 * kMiB);
  EXPECT_EQ(rescans("nvme3"), "1\n");
  EXPECT_EQ(rescans("nvme0"), "") << "another controller is left alone";
}

TEST_F(NamespaceGrowthTest, ANamespaceThatNeverGrowsIsFailedPreconditionNamingBothSizes) {
  fake_.addController("nvme3", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake_.addControllerNamespace("nvme3", "nvme3n1");
  addBlockDevice("nvme3n1", 64 * kMiB);
  try {
    grow("nvme3n1", 96 * kMiB, blocks("nvme3n1", 80 * kMiB, {"nvme3"}));
    FAIL() << "a namespace smaller than asked was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("nvme3n1 with " + std::to_string(80 * kMiB)),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(pauses_, 49) << "fifty looks, a pause between two";
}

TEST_F(NamespaceGrowthTest, ADeviceNoControllerShowsIsFailedPrecondition) {
  addBlockDevice("nvme7n1", 64 * kMiB);
  try {
    grow("nvme7n1", 96 * kMiB, blocks("nvme7n1", 96 * kMiB, {}));
    FAIL() << "a namespace without a controller was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("is not a namespace of a connected NVMe controller"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
