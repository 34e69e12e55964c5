// Mounter on real loop devices: formatting, mounting, bind mounts and unmounting.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "loop_device_fixture.hpp"

namespace polycsi::node::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

class MounterLoopDeviceTest : public LoopDeviceTest {
 protected:
  // formatAndMount twice (idempotent), data written, unmount, mount again: data still there.
  void checkFormatAndMountKeepsData(const std::string& fsType, int64_t size) {
    const std::string device = attachLoopDevice(size);
    ASSERT_FALSE(device.empty());
    const std::string target = scratchPath("mnt");

    ASSERT_TRUE(mounter_.formatAndMount(device, target, fsType, {}, false).isOk());
    StatusOr<std::optional<MountInfo>> found = mounter_.findMount(target);
    ASSERT_TRUE(found.isOk()) << found.status().toString();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->source, device);
    EXPECT_EQ((*found)->fsType, fsType);
    EXPECT_FALSE((*found)->readonly);
    StatusOr<std::string> detected = mounter_.detectFilesystem(device);
    ASSERT_TRUE(detected.isOk()) << detected.status().toString();
    EXPECT_EQ(*detected, fsType);

    writeFile(target + "/data.txt", "survives " + fsType);
    Status again = mounter_.formatAndMount(device, target, fsType, {}, false);
    EXPECT_TRUE(again.isOk()) << again.toString();

    Status unmounted = mounter_.unmount(target, false);
    ASSERT_TRUE(unmounted.isOk()) << unmounted.toString();
    ASSERT_FALSE(mounter_.findMount(target)->has_value());
    EXPECT_FALSE(std::filesystem::exists(target + "/data.txt"));

    Status remounted = mounter_.formatAndMount(device, target, fsType, {}, false);
    ASSERT_TRUE(remounted.isOk()) << remounted.toString();
    EXPECT_EQ(readFile(target + "/data.txt"), "survives " + fsType);  // not reformatted
  }
};

TEST_F(MounterLoopDeviceTest, FormatAndMountExt4IsIdempotentAndNeverReformats) {
  checkFormatAndMountKeepsData("ext4", 64 * kMiB);
}

TEST_F(MounterLoopDeviceTest, FormatAndMountXfsIsIdempotentAndNeverReformats) {
  checkFormatAndMountKeepsData("xfs", 320 * kMiB);  // mkfs.xfs needs at least 300 MiB
}

TEST_F(MounterLoopDeviceTest, RefusesToMountXfsAsExt4AndKeepsTheData) {
  const std::string device = attachLoopDevice(320 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string first = scratchPath("xfs");
  ASSERT_TRUE(mounter_.formatAndMount(device, first, "xfs", {}, false).isOk());
  writeFile(first + "/keep.txt", "xfs data");
  ASSERT_TRUE(mounter_.unmount(first, true).isOk());

  const std::string second = scratchPath("as-ext4");
  Status wrongType = mounter_.formatAndMount(device, second, "ext4", {}, false);
  EXPECT_EQ(wrongType.code(), Code::kFailedPrecondition) << wrongType.toString();
  EXPECT_THAT(wrongType.message(), HasSubstr("xfs"));
  EXPECT_THAT(wrongType.message(), HasSubstr("ext4"));
  EXPECT_FALSE(mounter_.findMount(second)->has_value());
  EXPECT_EQ(*mounter_.detectFilesystem(device), "xfs");

  ASSERT_TRUE(mounter_.formatAndMount(device, second, "xfs", {}, false).isOk());
  EXPECT_EQ(readFile(second + "/keep.txt"), "xfs data");
}

TEST_F(MounterLoopDeviceTest, RefusesToFormatForAReadOnlyMount) {
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  Status status = mounter_.formatAndMount(device, scratchPath("ro"), "ext4", {}, true);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition) << status.toString();
  EXPECT_THAT(status.message(), HasSubstr("read-only"));
  EXPECT_EQ(*mounter_.detectFilesystem(device), "");  // nothing was written
}

TEST_F(MounterLoopDeviceTest, MountsReadOnlyAndPassesOptionsToTheKernel) {
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string target = scratchPath("mnt");
  ASSERT_TRUE(
      mounter_.formatAndMount(device, target, "ext4", {"noatime", "nodelalloc"}, false).isOk());
  StatusOr<std::optional<MountInfo>> found = mounter_.findMount(target);
  ASSERT_TRUE(found.isOk() && found->has_value());
  EXPECT_THAT((*found)->options, Contains("noatime"));
  EXPECT_THAT((*found)->options, Contains("nodelalloc"));
  ASSERT_TRUE(mounter_.unmount(target, false).isOk());

  ASSERT_TRUE(mounter_.formatAndMount(device, target, "ext4", {}, true).isOk());
  found = mounter_.findMount(target);
  ASSERT_TRUE(found.isOk() && found->has_value());
  EXPECT_TRUE((*found)->readonly);
  int fd = ::open((target + "/new.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EROFS);
  // The same device read-write at the same place conflicts with what is there.
  EXPECT_EQ(mounter_.formatAndMount(device, target, "ext4", {}, false).code(),
            Code::kAlreadyExists);
}

TEST_F(MounterLoopDeviceTest, RefusesATargetMountedFromAnotherDeviceNamingBoth) {
  const std::string first = attachLoopDevice(64 * kMiB);
  const std::string second = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  const std::string target = scratchPath("mnt");
  ASSERT_TRUE(mounter_.formatAndMount(first, target, "ext4", {}, false).isOk());
  Status status = mounter_.formatAndMount(second, target, "ext4", {}, false);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition) << status.toString();
  EXPECT_THAT(status.message(), HasSubstr(first));
  EXPECT_THAT(status.message(), HasSubstr(second));
  EXPECT_EQ(*mounter_.detectFilesystem(second), "");  // the refusal came before formatting

  // mount() follows the same rules as formatAndMount() for an already formatted device.
  EXPECT_TRUE(mounter_.mount(first, target, "ext4", {}, false).isOk());
  EXPECT_EQ(mounter_.mount(second, target, "ext4", {}, false).code(), Code::kFailedPrecondition);
}

TEST_F(MounterLoopDeviceTest, BindMountsDirectoriesReadWriteAndReadOnly) {
  const std::string source = scratchPath("source");
  ASSERT_TRUE(std::filesystem::create_directory(source));
  writeFile(source + "/from-source.txt", "hello");

  const std::string writable = scratchPath("pods/a/volume");
  ASSERT_TRUE(mounter_.bindMount(source, writable, false).isOk());
  EXPECT_EQ(readFile(writable + "/from-source.txt"), "hello");
  writeFile(writable + "/from-bind.txt", "written through the bind");
  EXPECT_EQ(readFile(source + "/from-bind.txt"), "written through the bind");
  EXPECT_TRUE(mounter_.bindMount(source, writable, false).isOk());  // idempotent

  const std::string readonly = scratchPath("pods/b/volume");
  Status bound = mounter_.bindMount(source, readonly, true);
  ASSERT_TRUE(bound.isOk()) << bound.toString();
  EXPECT_TRUE((*mounter_.findMount(readonly))->readonly);
  EXPECT_EQ(readFile(readonly + "/from-source.txt"), "hello");
  int fd = ::open((readonly + "/denied.txt").c_str(), O_WRONLY | O_CREAT, 0644);
  EXPECT_EQ(fd, -1);
  EXPECT_EQ(errno, EROFS);
  EXPECT_TRUE(mounter_.bindMount(source, readonly, true).isOk());  // idempotent
  EXPECT_EQ(mounter_.bindMount(source, readonly, false).code(), Code::kAlreadyExists);
  // The read-only bind did not make the source read-only.
  writeFile(source + "/still-writable.txt", "yes");

  const std::string other = scratchPath("other");
  ASSERT_TRUE(std::filesystem::create_directory(other));
  Status conflict = mounter_.bindMount(other, writable, false);
  EXPECT_EQ(conflict.code(), Code::kFailedPrecondition) << conflict.toString();
}

TEST_F(MounterLoopDeviceTest, BindMountsARawBlockDeviceOntoAnEmptyFile) {
  const std::string device = attachLoopDevice(32 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string pattern = "polycsi raw block pattern";
  {
    int fd = ::open(device.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    ASSERT_EQ(::pwrite(fd, pattern.data(), pattern.size(), 8192),
              static_cast<ssize_t>(pattern.size()));
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }

  const std::string target = scratchPath("block/pvc-1");
  Status bound = mounter_.bindMount(device, target, false);
  ASSERT_TRUE(bound.isOk()) << bound.toString();
  struct stat deviceInfo {};
  struct stat targetInfo {};
  ASSERT_EQ(::stat(device.c_str(), &deviceInfo), 0);
  ASSERT_EQ(::stat(target.c_str(), &targetInfo), 0);
  EXPECT_TRUE(S_ISBLK(targetInfo.st_mode));
  EXPECT_EQ(targetInfo.st_rdev, deviceInfo.st_rdev);
  {
    int fd = ::open(target.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    std::string read(pattern.size(), '\0');
    ASSERT_EQ(::pread(fd, read.data(), read.size(), 8192), static_cast<ssize_t>(read.size()));
    ::close(fd);
    EXPECT_EQ(read, pattern);
  }
  EXPECT_TRUE(mounter_.bindMount(device, target, false).isOk());  // idempotent
  StatusOr<int64_t> size = mounter_.blockDeviceSize(target);
  ASSERT_TRUE(size.isOk()) << size.status().toString();
  EXPECT_EQ(*size, 32 * kMiB);

  const std::string otherDevice = attachLoopDevice(32 * kMiB);
  ASSERT_FALSE(otherDevice.empty());
  EXPECT_EQ(mounter_.bindMount(otherDevice, target, false).code(), Code::kFailedPrecondition);

  ASSERT_TRUE(mounter_.unmount(target, true).isOk());
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_TRUE(mounter_.unmount(target, true).isOk());  // gone is success
}

TEST_F(MounterLoopDeviceTest, RefusesANonEmptyFileAsRawBlockTarget) {
  const std::string device = attachLoopDevice(32 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string target = scratchPath("not-empty");
  writeFile(target, "precious");
  EXPECT_EQ(mounter_.bindMount(device, target, false).code(), Code::kFailedPrecondition);
  EXPECT_EQ(readFile(target), "precious");
  const std::string directory = scratchPath("a-directory");
  ASSERT_TRUE(std::filesystem::create_directory(directory));
  EXPECT_EQ(mounter_.bindMount(device, directory, false).code(), Code::kFailedPrecondition);
}

TEST_F(MounterLoopDeviceTest, UnmountIsIdempotentAndRefusesBusyTargets) {
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  const std::string target = scratchPath("mnt");
  ASSERT_TRUE(mounter_.formatAndMount(device, target, "ext4", {}, false).isOk());

  int busy = ::open((target + "/open.txt").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(busy, 0);
  Status refused = mounter_.unmount(target, true);
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition) << refused.toString();
  EXPECT_THAT(refused.message(), HasSubstr("busy"));
  EXPECT_TRUE(mounter_.findMount(target)->has_value());
  ::close(busy);

  Status first = mounter_.unmount(target, true);
  ASSERT_TRUE(first.isOk()) << first.toString();
  EXPECT_FALSE(mounter_.findMount(target)->has_value());
  EXPECT_FALSE(std::filesystem::exists(target));
  Status second = mounter_.unmount(target, true);
  EXPECT_TRUE(second.isOk()) << second.toString();

  // A directory that was never mounted: nothing to unmount, removed when asked.
  const std::string plain = scratchPath("plain");
  ASSERT_TRUE(std::filesystem::create_directory(plain));
  EXPECT_TRUE(mounter_.unmount(plain, false).isOk());
  EXPECT_TRUE(std::filesystem::exists(plain));
  EXPECT_TRUE(mounter_.unmount(plain, true).isOk());
  EXPECT_FALSE(std::filesystem::exists(plain));
}

TEST_F(MounterLoopDeviceTest, UnmountRemovesStackedMountsAndKeepsUnmountedData) {
  const std::string source = scratchPath("source");
  ASSERT_TRUE(std::filesystem::create_directory(source));
  const std::string target = scratchPath("stacked");
  ASSERT_TRUE(mounter_.bindMount(source, target, false).isOk());
  // A second bind stacked on the first (what a crash-and-retry elsewhere could leave).
  ASSERT_EQ(::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr), 0);
  ASSERT_TRUE(mounter_.unmount(target, false).isOk());
  EXPECT_FALSE(mounter_.findMount(target)->has_value());

  // Data in the directory itself (never mounted over) is not deleted.
  writeFile(target + "/local.txt", "not from a mount");
  EXPECT_EQ(mounter_.unmount(target, true).code(), Code::kFailedPrecondition);
  EXPECT_EQ(readFile(target + "/local.txt"), "not from a mount");
}

TEST_F(MounterLoopDeviceTest, NfsMountFailsClearlyWithoutAServer) {
  Mounter quick(std::chrono::seconds(30));
  const std::string target = scratchPath("nfs");
  Status status = quick.mount("127.0.0.1:/polycsi-no-such-export", target, "nfs",
                              {"vers=4.1", "soft", "timeo=10", "retrans=1"}, false);
  ASSERT_FALSE(status.isOk());
  if (::access("/sbin/mount.nfs", X_OK) != 0) {
    EXPECT_EQ(status.code(), Code::kFailedPrecondition) << status.toString();
    EXPECT_THAT(status.message(), HasSubstr("nfs-common"));
  } else {
    EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:/polycsi-no-such-export"));
  }
  EXPECT_FALSE(quick.findMount(target)->has_value());
}

// tmpfs has no device: its name identifies it, its size option reaches the kernel.
TEST_F(MounterLoopDeviceTest, MountsTmpfsByNameIdempotentlyWithItsSize) {
  const std::string target = scratchPath("tmpfs");
  Status mounted = mounter_.mount("scratch-a", target, "tmpfs", {"size=1048576"}, false);
  ASSERT_TRUE(mounted.isOk()) << mounted.toString();
  StatusOr<std::optional<MountInfo>> found = mounter_.findMount(target);
  ASSERT_TRUE(found.isOk() && found->has_value());
  EXPECT_EQ((*found)->source, "scratch-a");
  EXPECT_EQ((*found)->fsType, "tmpfs");
  EXPECT_THAT((*found)->options, Contains("size=1024k"));

  Status again = mounter_.mount("scratch-a", target, "tmpfs", {"size=1048576"}, false);
  EXPECT_TRUE(again.isOk()) << again.toString();
  Status other = mounter_.mount("scratch-b", target, "tmpfs", {}, false);
  EXPECT_EQ(other.code(), Code::kFailedPrecondition) << other.toString();
  EXPECT_EQ(mounter_.mount("-o", target, "tmpfs", {}, false).code(), Code::kInvalidArgument);
  ASSERT_TRUE(mounter_.unmount(target, true).isOk());
}

}  // namespace
}  // namespace polycsi::node::testing
