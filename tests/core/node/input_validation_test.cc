#include "node/input_validation.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "node/kernel_mount_options.hpp"
#include "node/mounter.hpp"

namespace polycsi::node {
namespace {

using ::testing::HasSubstr;

TEST(InputValidationTest, RefusesUnsafePaths) {
  EXPECT_TRUE(validateAbsolutePath("target", "/var/lib/kubelet/pods/x/volumes").isOk());
  EXPECT_TRUE(validateAbsolutePath("target", "/a/..b/c..").isOk());
  for (const std::string& bad :
       {std::string(""), std::string("relative/path"), std::string("/a/../etc"),
        std::string("/a/.."), std::string("/a\nb"), std::string("/a\0b", 4)}) {
    Status status = validateAbsolutePath("target", bad);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << "accepted: " << bad;
    EXPECT_THAT(status.message(), HasSubstr("target"));
  }
  EXPECT_THAT(validateAbsolutePath("source", "/x/../y").message(), HasSubstr("\"..\""));
  EXPECT_EQ(validateAbsolutePath("target", "/" + std::string(5000, 'a')).code(),
            Code::kInvalidArgument);
}

TEST(InputValidationTest, NormalizesPathsTheWayMountinfoSpellsThem) {
  EXPECT_EQ(normalizePath("//a//b/./c/"), "/a/b/c");
  EXPECT_EQ(normalizePath("/"), "/");
  EXPECT_EQ(normalizePath("/a"), "/a");
}

TEST(InputValidationTest, AcceptsOnlyDevicePaths) {
  EXPECT_TRUE(validateDevicePath("/dev/loop0").isOk());
  EXPECT_TRUE(validateDevicePath("/dev/disk/by-id/nvme-x").isOk());
  EXPECT_EQ(validateDevicePath("/etc/passwd").code(), Code::kInvalidArgument);
  EXPECT_EQ(validateDevicePath("dev/sda").code(), Code::kInvalidArgument);
  EXPECT_EQ(validateDevicePath("/dev/../etc/passwd").code(), Code::kInvalidArgument);
}

TEST(InputValidationTest, AllowsOnlyKnownFilesystemTypes) {
  for (const char* type : {"ext4", "ext3", "xfs"}) {
    EXPECT_TRUE(validateFormatFilesystemType(type).isOk()) << type;
    EXPECT_TRUE(validateMountFilesystemType(type).isOk()) << type;
  }
  for (const char* type : {"nfs", "nfs4", "tmpfs"}) {
    EXPECT_EQ(validateFormatFilesystemType(type).code(), Code::kInvalidArgument) << type;
    EXPECT_TRUE(validateMountFilesystemType(type).isOk()) << type;
  }
  for (const char* type : {"", "btrfs", "vfat", "ext4 ", "xfs;rm"}) {
    EXPECT_EQ(validateMountFilesystemType(type).code(), Code::kInvalidArgument) << type;
  }
  EXPECT_THAT(validateFormatFilesystemType("btrfs").message(), HasSubstr("btrfs"));
}

TEST(InputValidationTest, TmpfsSourcesAreShortPlainNames) {
  EXPECT_TRUE(isTmpfsType("tmpfs"));
  EXPECT_FALSE(isTmpfsType("nfs"));
  for (const char* source : {"tmpfs", "scratch-pvc-1", "a.b_c"})
    EXPECT_TRUE(validateTmpfsSource(source).isOk()) << source;
  for (const std::string& source :
       {std::string(), std::string("-o"), std::string("a b"), std::string("a/b"),
        std::string("x,size=1"), std::string(65, 'a')})
    EXPECT_EQ(validateTmpfsSource(source).code(), Code::kInvalidArgument) << source;
  EXPECT_THAT(validateTmpfsSource("a/b").message(), HasSubstr("a/b"));
}

TEST(InputValidationTest, RefusesMountOptionsOutsideTheAllowedCharacters) {
  EXPECT_TRUE(validateMountOptions({}).isOk());
  EXPECT_TRUE(validateMountOptions({"noatime", "discard,nouuid", "vers=4.1", "sec=krb5:krb5i",
                                    "context=system_u:object_r:x_t:s0", "a+b/c_d-e"})
                  .isOk());
  for (const char* bad : {"", "a;b", "a b", "$(id)", "`id`", "a\nb", "x|y", "o'k", "a\"b"}) {
    Status status = validateMountOptions({"noatime", bad});
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << "accepted: " << bad;
  }
}

TEST(InputValidationTest, AcceptsOnlyHostColonAbsolutePathNfsSources) {
  EXPECT_TRUE(validateNfsSource("nfs.example.com:/export/vol1").isOk());
  EXPECT_TRUE(validateNfsSource("10.0.0.5:/").isOk());
  EXPECT_TRUE(validateNfsSource("[fd00::1]:/export").isOk());
  for (const char* bad : {"server", "server:relative", ":/export", "-o:/export", "server:/a/../b",
                          "[fd00::1]/x", "[zz]:/x", "ho st:/x", "h;x:/e"}) {
    EXPECT_EQ(validateNfsSource(bad).code(), Code::kInvalidArgument) << "accepted: " << bad;
  }
}

TEST(KernelMountOptionsTest, SplitsFlagsFromFilesystemData) {
  StatusOr<KernelMountArguments> arguments =
      toKernelMountArguments({"ro", "noatime,discard", "nouuid", "nosuid"}, false);
  ASSERT_TRUE(arguments.isOk()) << arguments.status().toString();
  EXPECT_EQ(arguments->flags, static_cast<unsigned long>(MS_RDONLY | MS_NOATIME | MS_NOSUID));
  EXPECT_EQ(arguments->data, "discard,nouuid");

  StatusOr<KernelMountArguments> readonly = toKernelMountArguments({"rw", "defaults"}, true);
  ASSERT_TRUE(readonly.isOk());
  EXPECT_EQ(readonly->flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(readonly->data, "");

  StatusOr<KernelMountArguments> later = toKernelMountArguments({"ro", "rw", "exec"}, false);
  ASSERT_TRUE(later.isOk());
  EXPECT_EQ(later->flags, 0ul);
}

TEST(KernelMountOptionsTest, RefusesOptionsThatChangeTheKindOfMount) {
  for (const char* bad : {"bind", "rbind", "noatime,remount", "move", "shared", "rprivate",
                          "helper=foo", "X-mount.mkdir", "x-systemd.automount", "loop"}) {
    StatusOr<KernelMountArguments> arguments = toKernelMountArguments({bad}, false);
    ASSERT_FALSE(arguments.isOk()) << "accepted: " << bad;
    EXPECT_EQ(arguments.status().code(), Code::kInvalidArgument);
  }
}

TEST(KernelMountOptionsTest, JoinsOptionsForMountCommand) {
  EXPECT_EQ(joinMountOptions({"vers=4.1", "hard"}, true), "vers=4.1,hard,ro");
  EXPECT_EQ(joinMountOptions({}, true), "ro");
  EXPECT_EQ(joinMountOptions({"hard"}, false), "hard");
}

// Refusals through the public API: nothing is probed, created or mounted.
TEST(MounterValidationTest, RefusesBadInputBeforeTouchingTheSystem) {
  Mounter mounter(std::chrono::seconds(5));
  const std::vector<std::string> none;
  EXPECT_EQ(mounter.formatAndMount("/dev/loop0", "/tmp/../etc", "ext4", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.formatAndMount("/dev/loop0", "/tmp/polycsi-x", "btrfs", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.formatAndMount("/dev/loop0", "/tmp/polycsi-x", "ext4", {"a;b"}, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.formatAndMount("/dev/loop0", "/tmp/polycsi-x", "ext4", {"bind"}, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.formatAndMount("loop0", "/tmp/polycsi-x", "ext4", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.formatAndMount("/etc/passwd", "/tmp/polycsi-x", "ext4", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.mount("server", "/tmp/polycsi-x", "nfs", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.mount("server:/e", "/tmp/polycsi-x", "nfs", {"remount"}, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.mount("/dev/loop0", "/tmp/polycsi-x", "vfat", none, false).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(mounter.bindMount("/a/../b", "/tmp/polycsi-x", false).code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.bindMount("/tmp", "tmp/polycsi-x", false).code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.unmount("relative", true).code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.findMount("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.detectFilesystem("/etc/passwd").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.growFilesystem("/etc/passwd", "/mnt").code(), Code::kInvalidArgument);
  EXPECT_EQ(mounter.blockDeviceSize("/etc/passwd").status().code(), Code::kInvalidArgument);
}

TEST(MounterValidationTest, FindsExistingMountsAndReportsAbsentOnes) {
  Mounter mounter;
  StatusOr<std::optional<MountInfo>> proc = mounter.findMount("/proc/");
  ASSERT_TRUE(proc.isOk()) << proc.status().toString();
  ASSERT_TRUE(proc->has_value());
  EXPECT_EQ((*proc)->fsType, "proc");
  EXPECT_EQ((*proc)->target, "/proc");

  StatusOr<std::optional<MountInfo>> absent = mounter.findMount("/polycsi-not-a-mount-point");
  ASSERT_TRUE(absent.isOk()) << absent.status().toString();
  EXPECT_FALSE(absent->has_value());
}

TEST(MounterValidationTest, BindMountOfAMissingSourceIsNotFound) {
  Mounter mounter;
  EXPECT_EQ(mounter.bindMount("/polycsi-no-such-dir", "/tmp/polycsi-never-created", false).code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace polycsi::node
