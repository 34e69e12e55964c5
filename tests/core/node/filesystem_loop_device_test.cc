// Mounter's filesystem tools on real loop devices: detection, usage (as NodeGetVolumeStats
// reads it) and growth.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <iostream>
#include <string>

#include "loop_device_fixture.hpp"
#include "node/filesystem_tools.hpp"
#include "node/volume_path_check.hpp"

namespace polycsi::node::testing {
namespace {

using ::testing::HasSubstr;

class FilesystemLoopDeviceTest : public LoopDeviceTest {
 protected:
  // A mounted filesystem's usage as NodeGetVolumeStats reads it: a bounded statvfs (the real
  // one here).
  StatusOr<VolumeUsage> usageOf(const std::string& target) {
    const VolumePathCheck::Outcome looked = pathCheck_.check(target, true, std::chrono::hours(1));
    if (!looked.usage) return Status(Code::kInternal, looked.message);
    return *looked.usage;
  }
  void checkUsage(const std::string& fsType, int64_t size) {
    const std::string device = attachLoopDevice(size);
    ASSERT_FALSE(device.empty());
    const std::string target = scratchPath("mnt");
    ASSERT_TRUE(mounter_.formatAndMount(device, target, fsType, {}, false).isOk());

    StatusOr<VolumeUsage> before = usageOf(target);
    ASSERT_TRUE(before.isOk()) << before.status().toString();
    // Total is the device less the filesystem's own metadata (journal, inode tables, log).
    EXPECT_LE(before->totalBytes, size);
    EXPECT_GE(before->totalBytes, size * 8 / 10);
    EXPECT_LE(before->availableBytes, before->totalBytes);
    EXPECT_LE(before->usedBytes + before->availableBytes, before->totalBytes);
    EXPECT_GT(before->totalInodes, 0);
    EXPECT_EQ(before->usedInodes, before->totalInodes - before->freeInodes);

    writeFile(target + "/one-mebibyte.bin", std::string(kMiB, 'x'));
    StatusOr<VolumeUsage> after = usageOf(target);
    ASSERT_TRUE(after.isOk()) << after.status().toString();
    EXPECT_GE(after->usedBytes - before->usedBytes, kMiB);
    EXPECT_LE(after->availableBytes, before->availableBytes - kMiB);
    EXPECT_GE(after->usedInodes, before->usedInodes + 1);
  }

  void checkGrowth(const std::string& fsType, int64_t size, int64_t grownSize) {
    const std::string device = attachLoopDevice(size);
    ASSERT_FALSE(device.empty());
    const std::string target = scratchPath("mnt");
    ASSERT_TRUE(mounter_.formatAndMount(device, target, fsType, {}, false).isOk());
    writeFile(target + "/before-growth.txt", "kept");
    StatusOr<VolumeUsage> before = usageOf(target);
    ASSERT_TRUE(before.isOk()) << before.status().toString();

    // Nothing to do yet: the filesystem already fills the device.
    Status unchanged = mounter_.growFilesystem(device, target);
    ASSERT_TRUE(unchanged.isOk()) << unchanged.toString();
    EXPECT_EQ(usageOf(target)->totalBytes, before->totalBytes);

    growLoopDevice(device, grownSize);
    ASSERT_EQ(*mounter_.blockDeviceSize(device), grownSize);
    Status grown = mounter_.growFilesystem(device, target);
    ASSERT_TRUE(grown.isOk()) << grown.toString();
    StatusOr<VolumeUsage> after = usageOf(target);
    ASSERT_TRUE(after.isOk()) << after.status().toString();
    EXPECT_GT(after->totalBytes, before->totalBytes + (grownSize - size) * 8 / 10);
    EXPECT_LE(after->totalBytes, grownSize);
    EXPECT_EQ(readFile(target + "/before-growth.txt"), "kept");

    Status again = mounter_.growFilesystem(device, target);  // idempotent
    EXPECT_TRUE(again.isOk()) << again.toString();
    EXPECT_EQ(usageOf(target)->totalBytes, after->totalBytes);
  }

  VolumePathCheck pathCheck_;
};

TEST_F(FilesystemLoopDeviceTest, DetectsABlankDeviceAsHavingNoFilesystem) {
  const std::string device = attachLoopDevice(16 * kMiB);
  ASSERT_FALSE(device.empty());
  StatusOr<std::string> detected = mounter_.detectFilesystem(device);
  ASSERT_TRUE(detected.isOk()) << detected.status().toString();
  EXPECT_EQ(*detected, "");
  EXPECT_EQ(mounter_.detectFilesystem("/dev/polycsi-no-such-device").status().code(),
            Code::kNotFound);
}

TEST_F(FilesystemLoopDeviceTest, ReportsSaneUsageForExt4) { checkUsage("ext4", 64 * kMiB); }

TEST_F(FilesystemLoopDeviceTest, ReportsSaneUsageForXfs) { checkUsage("xfs", 320 * kMiB); }

TEST_F(FilesystemLoopDeviceTest, GrowsExt4AfterTheDeviceGrew) {
  if (hasEffectiveCapability(CAP_SYS_RESOURCE)) {
    checkGrowth("ext4", 64 * kMiB, 128 * kMiB);
    return;
  }
  // Without CAP_SYS_RESOURCE (some sandboxes drop it) the kernel refuses online ext4 resizing;
  // what can be checked then is that the refusal is clear and harms nothing.
  std::cerr << "NOTE: this process lacks CAP_SYS_RESOURCE: checking that online ext4 growth is "
               "refused clearly instead of checking that it grows\n";
  RecordProperty("ext4_online_growth", "refused: no CAP_SYS_RESOURCE");
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string target = scratchPath("mnt");
  ASSERT_TRUE(mounter_.formatAndMount(device, target, "ext4", {}, false).isOk());
  writeFile(target + "/before-growth.txt", "kept");
  const int64_t before = usageOf(target)->totalBytes;
  growLoopDevice(device, 128 * kMiB);
  Status grown = mounter_.growFilesystem(device, target);
  EXPECT_EQ(grown.code(), Code::kPermissionDenied) << grown.toString();
  EXPECT_THAT(grown.message(), HasSubstr("CAP_SYS_RESOURCE"));
  EXPECT_EQ(usageOf(target)->totalBytes, before);
  EXPECT_EQ(readFile(target + "/before-growth.txt"), "kept");
}

TEST_F(FilesystemLoopDeviceTest, GrowsXfsAfterTheDeviceGrew) {
  checkGrowth("xfs", 320 * kMiB, 448 * kMiB);
}

TEST_F(FilesystemLoopDeviceTest, RefusesToGrowWhatIsNotMountedFromThatDevice) {
  const std::string device = attachLoopDevice(64 * kMiB);
  const std::string other = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  ASSERT_FALSE(other.empty());
  const std::string target = scratchPath("mnt");
  ASSERT_TRUE(mounter_.formatAndMount(device, target, "ext4", {}, false).isOk());
  Status wrongDevice = mounter_.growFilesystem(other, target);
  EXPECT_EQ(wrongDevice.code(), Code::kFailedPrecondition) << wrongDevice.toString();
  EXPECT_THAT(wrongDevice.message(), HasSubstr(device));
  EXPECT_EQ(mounter_.growFilesystem(device, scratchPath("nothing-here")).code(),
            Code::kFailedPrecondition);
}

}  // namespace
}  // namespace polycsi::node::testing
