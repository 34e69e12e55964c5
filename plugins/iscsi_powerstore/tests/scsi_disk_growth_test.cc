// Growing a LUN's SCSI disk on the node, against a sysfs tree in a temporary directory where
// the test plays the kernel: the disk's size file changes only after "1" was written to its
// device/rescan, as the sd driver does.
#include "scsi_disk_growth.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "temp_directory.hpp"  // tests/support

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::TempDir;

constexpr int64_t kMiB = 1 << 20;

class ScsiDiskGrowthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // /dev/sdb with its by-path link, and /sys/class/block/sdb of a SCSI disk.
    std::filesystem::create_directories(dir_.path() / "dev" / "disk" / "by-path");
    std::ofstream(dir_.path() / "dev" / "sdb") << "";
    std::filesystem::create_symlink("../../sdb", byPath());
    std::filesystem::create_directories(disk() / "device");
    std::ofstream(disk() / "device" / "rescan") << "";
    setSize(64 * kMiB);
  }

  std::filesystem::path byPath() const {
    return dir_.path() / "dev" / "disk" / "by-path" / "ip-127.0.0.1:3260-iscsi-iqn.x-lun-1";
  }
  std::filesystem::path disk() const { return dir_.path() / "sys" / "class" / "block" / "sdb"; }
  void setSize(int64_t bytes) const { std::ofstream(disk() / "size") << bytes / 512 << "\n"; }
  std::string rescanWrites() const {
    std::ifstream in(disk() / "device" / "rescan");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  // The kernel as the test plays it: after a rescan was asked for, the disk has `grownTo`.
  BlockDeviceSysfs sysfs(int64_t grownTo) {
    return BlockDeviceSysfs(dir_.path() / "sys", [this, grownTo] {
      ++pauses_;
      if (rescanWrites() == "1\n") setSize(grownTo);
    });
  }

  TempDir dir_{"scsi-disk-growth"};
  int pauses_ = 0;
};

TEST_F(ScsiDiskGrowthTest, RescansTheDiskBehindTheByPathLinkAndReturnsItsNewSize) {
  EXPECT_EQ(rescanScsiDisk(sysfs(96 * kMiB), byPath().string(), 96 * kMiB, Call{}), 96 * kMiB);
  EXPECT_EQ(rescanWrites(), "1\n");
}

TEST_F(ScsiDiskGrowthTest, ADiskThatDoesNotGrowIsFailedPreconditionNamingBothSizes) {
  try {
    rescanScsiDisk(sysfs(80 * kMiB), byPath().string(), 96 * kMiB, Call{});
    FAIL() << "a disk smaller than asked was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("sdb with " + std::to_string(80 * kMiB) + " bytes"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(std::to_string(96 * kMiB)), std::string::npos);
  }
  EXPECT_EQ(pauses_, 9) << "ten looks at the size, a pause between two";
}

TEST_F(ScsiDiskGrowthTest, NoRequiredSizeTakesTheSizeAfterTheRescan) {
  EXPECT_EQ(rescanScsiDisk(sysfs(96 * kMiB), byPath().string(), 0, Call{}), 64 * kMiB);
  EXPECT_EQ(rescanWrites(), "1\n");
}

TEST_F(ScsiDiskGrowthTest, ADeviceThatIsNotASCSIDiskIsFailedPrecondition) {
  std::filesystem::remove_all(disk() / "device");
  try {
    rescanScsiDisk(sysfs(96 * kMiB), byPath().string(), 96 * kMiB, Call{});
    FAIL() << "a device without device/rescan was taken for a SCSI disk";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("is not a SCSI disk"), std::string::npos) << e.what();
  }
}

TEST_F(ScsiDiskGrowthTest, AMissingDeviceIsNotFound) {
  std::filesystem::remove(dir_.path() / "dev" / "sdb");
  try {
    rescanScsiDisk(sysfs(96 * kMiB), byPath().string(), 96 * kMiB, Call{});
    FAIL() << "a dangling by-path link was rescanned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
  }
  EXPECT_EQ(rescanWrites(), "");
}

TEST_F(ScsiDiskGrowthTest, ACancelledCallRescansNothing) {
  int32_t cancelled = 1;
  Call call;
  call.cancelled = &cancelled;
  try {
    rescanScsiDisk(sysfs(96 * kMiB), byPath().string(), 96 * kMiB, call);
    FAIL() << "a cancelled call went on";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kCancelled);
  }
  EXPECT_EQ(rescanWrites(), "");
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
