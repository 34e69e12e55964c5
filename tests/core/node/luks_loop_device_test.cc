// LuksDevices on a real kernel: luksFormat, open, a wrong passphrase, resize and close through
// cryptsetup and dm-crypt on loop devices, with a filesystem on the mapping. Skips, saying why,
// where the kernel has no device-mapper or cryptsetup is not installed;
// the VM lab (tests/lab, scenario rds) runs the same path through polycsi on NVMe/TCP.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "kernel_features.hpp"
#include "loop_device_fixture.hpp"
#include "node/luks_devices.hpp"

namespace polycsi::node::testing {
namespace {

using polycsi::testing::kernelHasDeviceMapper;
using ::testing::HasSubstr;

constexpr char kPassphrase[] = "loop-Test-Passphrase-0b5e";
constexpr char kWrongPassphrase[] = "loop-Wrong-Passphrase-77aa";
constexpr char kSource[] = "test secret key 'encryptionPassphrase'";

class LuksLoopDeviceTest : public LoopDeviceTest {
 protected:
  void SetUp() override {
    LoopDeviceTest::SetUp();
    if (!kernelHasDeviceMapper())
      GTEST_SKIP() << "this kernel (or sandbox) offers no device-mapper (no device-mapper in "
                      "/proc/misc), so dm-crypt cannot run here; the VM lab covers it";
    if (::access("/usr/sbin/cryptsetup", X_OK) != 0 && ::access("/sbin/cryptsetup", X_OK) != 0)
      GTEST_SKIP() << "cryptsetup is not installed (Debian package cryptsetup-bin)";
    name_ = "polycsi-test-" + std::to_string(::getpid());
  }
  void TearDown() override {
    // The mapping holds the loop device: it goes before the fixture detaches it.
    if (!name_.empty()) {
      mounter_.unmount(scratchPath("mnt"), false);
      EXPECT_TRUE(luks_.close(name_).isOk());
    }
    LoopDeviceTest::TearDown();
  }

  LuksDevices luks_{std::chrono::seconds(120)};
  std::string name_;
};

TEST_F(LuksLoopDeviceTest, FormatsOnceOpensAgainRefusesAWrongKeyAndGrows) {
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  auto mapped = luks_.open("test:vol", device, name_, {kPassphrase, kSource}, false);
  ASSERT_TRUE(mapped.isOk()) << mapped.status().toString();
  EXPECT_EQ(*mapped, "/dev/mapper/" + name_);
  ASSERT_TRUE(mounter_.formatAndMount(*mapped, scratchPath("mnt"), "ext4", {}, false).isOk());
  writeFile(scratchPath("mnt/data"), "kept across close and open");
  ASSERT_TRUE(mounter_.unmount(scratchPath("mnt"), false).isOk());
  ASSERT_TRUE(luks_.close(name_).isOk());
  EXPECT_TRUE(luks_.close(name_).isOk()) << "closing twice is success";

  // The plaintext device shows a LUKS header, not the filesystem.
  EXPECT_EQ(*mounter_.detectFilesystem(device), "crypto_LUKS");

  auto wrong = luks_.open("test:vol", device, name_, {kWrongPassphrase, kSource}, false);
  ASSERT_FALSE(wrong.isOk());
  EXPECT_EQ(wrong.status().code(), Code::kPermissionDenied) << wrong.status().toString();
  auto after = luks_.backingDevice(name_);
  ASSERT_TRUE(after.isOk());
  EXPECT_FALSE(after->has_value()) << "a wrong passphrase leaves no mapping";

  mapped = luks_.open("test:vol", device, name_, {kPassphrase, kSource}, false);
  ASSERT_TRUE(mapped.isOk()) << mapped.status().toString();
  ASSERT_TRUE(mounter_.formatAndMount(*mapped, scratchPath("mnt"), "ext4", {}, false).isOk());
  EXPECT_EQ(readFile(scratchPath("mnt/data")), "kept across close and open");

  auto before = mounter_.blockDeviceSize(*mapped);
  ASSERT_TRUE(before.isOk());
  growLoopDevice(device, 96 * kMiB);
  ASSERT_TRUE(luks_.resize("test:vol", name_, {kPassphrase, kSource}).isOk());
  auto grown = mounter_.blockDeviceSize(*mapped);
  ASSERT_TRUE(grown.isOk());
  EXPECT_EQ(*grown - *before, 32 * kMiB);
  EXPECT_TRUE(mounter_.growFilesystem(*mapped, scratchPath("mnt")).isOk());
}

TEST_F(LuksLoopDeviceTest, NeverFormatsADeviceThatHoldsAFilesystem) {
  const std::string device = attachLoopDevice(64 * kMiB);
  ASSERT_FALSE(device.empty());
  ASSERT_TRUE(mounter_.formatAndMount(device, scratchPath("plain"), "ext4", {}, false).isOk());
  writeFile(scratchPath("plain/data"), "plaintext");
  ASSERT_TRUE(mounter_.unmount(scratchPath("plain"), false).isOk());
  auto refused = luks_.open("test:vol", device, name_, {kPassphrase, kSource}, false);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("ext4"));
  EXPECT_EQ(*mounter_.detectFilesystem(device), "ext4") << "the filesystem is untouched";
}

}  // namespace
}  // namespace polycsi::node::testing
