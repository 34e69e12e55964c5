#include "node/mount_table.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace polycsi::node {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr const char* kSample =
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
    "36 22 7:0 / /mnt/with\\040space rw,nosuid master:2 shared:3 - xfs /dev/loop0 ro,attr2\n"
    "37 22 0:5 /loop0 /var/lib/kubelet/block/pvc\\011tab rw - devtmpfs udev rw,size=100k\n"
    "38 22 0:40 / /mnt/nfs rw - nfs4 10.0.0.1:/export/a\\134b rw,vers=4.2\n"
    "39 36 7:1 /sub\\012dir /mnt/with\\040space ro - ext4 /dev/loop1 rw\n";

TEST(MountTableTest, ParsesFieldsOptionalFieldsAndEscapes) {
  StatusOr<std::vector<MountTableEntry>> table = parseMountInfo(kSample);
  ASSERT_TRUE(table.isOk()) << table.status().toString();
  ASSERT_EQ(table->size(), 5u);

  const MountTableEntry& root = (*table)[0];
  EXPECT_EQ(root.mountId, 22);
  EXPECT_EQ(root.parentId, 1);
  EXPECT_EQ(root.major, 8u);
  EXPECT_EQ(root.minor, 1u);
  EXPECT_EQ(root.mountPoint, "/");
  EXPECT_THAT(root.mountOptions, ElementsAre("rw", "relatime"));
  EXPECT_EQ(root.fsType, "ext4");
  EXPECT_EQ(root.source, "/dev/sda1");
  EXPECT_THAT(root.superOptions, ElementsAre("rw", "errors=remount-ro"));
  EXPECT_FALSE(isReadOnly(root));

  const MountTableEntry& spaced = (*table)[1];
  EXPECT_EQ(spaced.mountPoint, "/mnt/with space");
  EXPECT_EQ(spaced.fsType, "xfs");  // two optional fields skipped
  EXPECT_EQ(spaced.source, "/dev/loop0");
  EXPECT_TRUE(isReadOnly(spaced));  // read-only superblock

  EXPECT_EQ((*table)[2].root, "/loop0");
  EXPECT_EQ((*table)[2].mountPoint, "/var/lib/kubelet/block/pvc\ttab");
  EXPECT_EQ((*table)[2].source, "udev");
  EXPECT_EQ((*table)[3].source, "10.0.0.1:/export/a\\b");
  EXPECT_EQ((*table)[4].root, "/sub\ndir");
  EXPECT_TRUE(isReadOnly((*table)[4]));  // read-only mount of a writable superblock
}

TEST(MountTableTest, FindsTheTopmostOfStackedMounts) {
  StatusOr<std::vector<MountTableEntry>> table = parseMountInfo(kSample);
  ASSERT_TRUE(table.isOk());
  const MountTableEntry* top = findTopmostMount(*table, "/mnt/with space");
  ASSERT_NE(top, nullptr);
  EXPECT_EQ(top->mountId, 39);
  EXPECT_EQ(findTopmostMount(*table, "/mnt/with"), nullptr);
  EXPECT_EQ(findTopmostMount(*table, "/mnt/nfs/"), nullptr);  // callers pass normalized paths

  // The same stack listed top first.
  StatusOr<std::vector<MountTableEntry>> reversed = parseMountInfo(
      "39 36 7:1 / /m rw - ext4 /dev/loop1 rw\n36 22 7:0 / /m rw - xfs /dev/loop0 rw\n");
  ASSERT_TRUE(reversed.isOk());
  ASSERT_NE(findTopmostMount(*reversed, "/m"), nullptr);
  EXPECT_EQ(findTopmostMount(*reversed, "/m")->mountId, 39);
}

TEST(MountTableTest, UnescapesOnlyCompleteOctalEscapes) {
  EXPECT_EQ(unescapeMountInfoField("a\\040b"), "a b");
  EXPECT_EQ(unescapeMountInfoField("a\\134\\040"), "a\\ ");
  EXPECT_EQ(unescapeMountInfoField("end\\04"), "end\\04");
  EXPECT_EQ(unescapeMountInfoField("x\\089"), "x\\089");
  EXPECT_EQ(unescapeMountInfoField("plain"), "plain");
}

TEST(MountTableTest, RejectsMalformedLinesNamingTheLine) {
  StatusOr<std::vector<MountTableEntry>> garbage =
      parseMountInfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\nnot a mount line\n");
  ASSERT_FALSE(garbage.isOk());
  EXPECT_EQ(garbage.status().code(), Code::kInternal);
  EXPECT_THAT(garbage.status().message(), HasSubstr("line 2"));

  EXPECT_FALSE(parseMountInfo("22 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw\n").isOk());
  EXPECT_FALSE(parseMountInfo("x 1 8:1 / / rw - ext4 /dev/sda1 rw\n").isOk());
  EXPECT_FALSE(parseMountInfo("22 1 81 / / rw - ext4 /dev/sda1 rw\n").isOk());
}

TEST(MountTableTest, ReadsThisProcessMountTable) {
  StatusOr<std::vector<MountTableEntry>> table = readMountTable();
  ASSERT_TRUE(table.isOk()) << table.status().toString();
  const MountTableEntry* proc = findTopmostMount(*table, "/proc");
  ASSERT_NE(proc, nullptr);
  EXPECT_EQ(proc->fsType, "proc");
}

}  // namespace
}  // namespace polycsi::node
