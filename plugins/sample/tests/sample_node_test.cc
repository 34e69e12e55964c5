// Node calls on real loop devices. Needs root and the loop driver; the fixture detaches every
// device bound to a file of the test's directory in its teardown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "sample_test_env.hpp"

namespace polycsi::sample::testing {
namespace {

class SampleNodeTest : public SampleTest {
 protected:
  void SetUp() override {
    if (!loopDevicesUsable())
      FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
             << "needs root and /dev/loop-control";
    SampleTest::SetUp();
  }

  std::string attach(const std::string& volumeId, bool readonly = false) {
    auto a = backend().attach({.volumeId = volumeId, .readonly = readonly});
    EXPECT_TRUE(a.isOk()) << a.status().toString();
    if (!a.isOk()) return {};
    EXPECT_EQ(a->kind, Attachment::Kind::kBlockDevice);
    return a->devicePath;
  }
};

TEST_F(SampleNodeTest, NodeIdentityIsEmpty) {
  start();
  auto id = backend().nodeIdentity({});
  ASSERT_TRUE(id.isOk());
  EXPECT_EQ(*id, "");
}

TEST_F(SampleNodeTest, AttachGivesALoopDeviceOfTheVolumesSize) {
  start();
  Volume v = create("pvc-node", 3 * kMiB);
  std::string device = attach(v.id);
  EXPECT_TRUE(std::regex_match(device, std::regex("/dev/loop[0-9]+"))) << device;
  EXPECT_EQ(blockDeviceBytes(device), 3 * kMiB);
  auto loops = findLoopDevices(volumeImage(v.id));
  ASSERT_EQ(loops.size(), 1u);
  EXPECT_EQ(loops[0].devicePath, device);
  EXPECT_FALSE(loops[0].readOnly);
}

TEST_F(SampleNodeTest, WritesThroughTheDeviceReachTheImage) {
  start();
  Volume v = create("pvc-io", kMiB);
  std::string device = attach(v.id);
  writeAt(device, 4096, "through the loop");
  std::string image = readAll(volumeImage(v.id));
  EXPECT_EQ(image.substr(4096, 16), "through the loop");
}

TEST_F(SampleNodeTest, AttachTwiceReturnsTheSameDevice) {
  start();
  Volume v = create("pvc-twice", kMiB);
  std::string first = attach(v.id);
  std::string second = attach(v.id);
  EXPECT_EQ(first, second);
  EXPECT_EQ(findLoopDevices(volumeImage(v.id)).size(), 1u);
}

TEST_F(SampleNodeTest, DetachTwiceSucceedsAndUnbinds) {
  start();
  Volume v = create("pvc-detach", kMiB);
  Volume other = create("pvc-stays", kMiB);
  attach(v.id);
  std::string kept = attach(other.id);
  ASSERT_TRUE(backend().detach({.volumeId = v.id}).isOk());
  EXPECT_TRUE(findLoopDevices(volumeImage(v.id)).empty());
  EXPECT_TRUE(backend().detach({.volumeId = v.id}).isOk());
  // Only the volume's own device was touched.
  auto loops = findLoopDevices(volumeImage(other.id));
  ASSERT_EQ(loops.size(), 1u);
  EXPECT_EQ(loops[0].devicePath, kept);
  // Detaching a volume that was never attached, or does not exist, is fine too.
  EXPECT_TRUE(backend().detach({.volumeId = "vol-ghost-0123456789abcdef"}).isOk());
}

TEST_F(SampleNodeTest, NodeExpandMakesTheDeviceGrow) {
  start();
  Volume v = create("pvc-expand", 2 * kMiB);
  std::string device = attach(v.id);
  ASSERT_EQ(blockDeviceBytes(device), 2 * kMiB);
  auto grown = backend().expandVolume({.volumeId = v.id, .requiredBytes = 5 * kMiB});
  ASSERT_TRUE(grown.isOk()) << grown.status().toString();
  auto expanded =
      backend().nodeExpand({.volumeId = v.id, .requiredBytes = 5 * kMiB, .devicePath = device});
  ASSERT_TRUE(expanded.isOk()) << expanded.toString();
  EXPECT_EQ(blockDeviceBytes(device), 5 * kMiB);
  // Asking the node for more than the controller gave is refused.
  EXPECT_EQ(backend()
                .nodeExpand({.volumeId = v.id, .requiredBytes = 9 * kMiB, .devicePath = device})
                .code(),
            Code::kFailedPrecondition);
}

TEST_F(SampleNodeTest, NodeExpandOfADetachedVolumeFails) {
  start();
  Volume v = create("pvc-detached", kMiB);
  EXPECT_EQ(backend().nodeExpand({.volumeId = v.id, .requiredBytes = kMiB}).code(),
            Code::kFailedPrecondition);
}

TEST_F(SampleNodeTest, VolumeConditionTracksImageAndDevice) {
  start();
  Volume v = create("pvc-health", kMiB);
  auto detached = backend().volumeCondition({.volumeId = v.id});
  ASSERT_TRUE(detached.isOk());
  EXPECT_TRUE(detached->abnormal);

  std::string device = attach(v.id);
  auto healthy = backend().volumeCondition({.volumeId = v.id});
  ASSERT_TRUE(healthy.isOk()) << healthy.status().toString();
  EXPECT_FALSE(healthy->abnormal) << healthy->message;
  EXPECT_NE(healthy->message.find(device), std::string::npos) << healthy->message;

  ASSERT_TRUE(std::filesystem::remove(volumeImage(v.id)));
  auto missing = backend().volumeCondition({.volumeId = v.id});
  ASSERT_TRUE(missing.isOk()) << missing.status().toString();
  EXPECT_TRUE(missing->abnormal);
  EXPECT_NE(missing->message.find("missing"), std::string::npos) << missing->message;
  // The device of the deleted image is still this volume's and detach clears it.
  ASSERT_TRUE(backend().detach({.volumeId = v.id}).isOk());
  EXPECT_TRUE(findLoopDevices(volumeImage(v.id)).empty());
}

TEST_F(SampleNodeTest, ReadOnlyAttachRefusesWrites) {
  start();
  Volume v = create("pvc-ro", kMiB);
  std::string device = attach(v.id, /*readonly=*/true);
  ASSERT_FALSE(device.empty());
  auto loops = findLoopDevices(volumeImage(v.id));
  ASSERT_EQ(loops.size(), 1u);
  EXPECT_TRUE(loops[0].readOnly);
  int fd = ::open(device.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    const char data[] = "must not land";
    EXPECT_LT(::pwrite(fd, data, sizeof(data), 0), 0) << "a write to a read-only device worked";
    ::close(fd);
  }
  EXPECT_EQ(readAll(volumeImage(v.id)), std::string(kMiB, '\0'));
  // The same volume cannot be attached read-write while attached read-only.
  EXPECT_EQ(backend().attach({.volumeId = v.id, .readonly = false}).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(attach(v.id, /*readonly=*/true), device);
}

TEST_F(SampleNodeTest, AttachOfAMissingVolumeIsNotFound) {
  start();
  EXPECT_EQ(backend().attach({.volumeId = "vol-ghost-0123456789abcdef"}).status().code(),
            Code::kNotFound);
  Volume v = create("pvc-gone", kMiB);
  ASSERT_TRUE(std::filesystem::remove(volumeImage(v.id)));
  EXPECT_EQ(backend().attach({.volumeId = v.id}).status().code(), Code::kNotFound);
}

TEST_F(SampleNodeTest, DeletingAnAttachedVolumeIsRefused) {
  start();
  Volume v = create("pvc-busy", kMiB);
  attach(v.id);
  auto status = backend().deleteVolume({.volumeId = v.id});
  EXPECT_EQ(status.code(), Code::kFailedPrecondition) << status.toString();
  EXPECT_TRUE(std::filesystem::exists(volumeImage(v.id)));
  ASSERT_TRUE(backend().detach({.volumeId = v.id}).isOk());
  EXPECT_TRUE(backend().deleteVolume({.volumeId = v.id}).isOk());
}

TEST(LoopDeviceScan, RefusesToScanEverything) {
  for (const char* dir : {"/", "relative"}) {
    try {
      findLoopDevicesUnder(dir);
      ADD_FAILURE() << "scanned under " << dir;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument) << dir;
    }
  }
}

TEST(LoopDeviceScan, ReadsWholeLoopDevicesFromProcPartitions) {
  const char* partitions =
      "major minor  #blocks  name\n"
      "\n"
      "   8        0   41943040 sda\n"
      "   8        1   41942016 sda1\n"
      "   7        0       8192 loop0\n"
      " 259        0       4096 loop0p1\n"
      "   7       12    1048576 loop12\n"
      "   7       13    1048576 loopback\n";
  EXPECT_EQ(loopIndexesInPartitions(partitions), (std::vector<int>{0, 12}));
  EXPECT_TRUE(loopIndexesInPartitions("").empty());
  EXPECT_TRUE(loopIndexesInPartitions("major minor  #blocks  name\n\n").empty());
}

}  // namespace
}  // namespace polycsi::sample::testing
