#include "volume_capability.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

TEST(ParseAccessMode, AliasesAndCsiNames) {
  EXPECT_EQ(parseAccessMode("rwo"), Mode::SINGLE_NODE_WRITER);
  EXPECT_EQ(parseAccessMode("rwop"), Mode::SINGLE_NODE_SINGLE_WRITER);
  EXPECT_EQ(parseAccessMode("rox"), Mode::MULTI_NODE_READER_ONLY);
  EXPECT_EQ(parseAccessMode("rwx"), Mode::MULTI_NODE_MULTI_WRITER);
  EXPECT_EQ(parseAccessMode("single-node-reader"), Mode::SINGLE_NODE_READER_ONLY);
  EXPECT_EQ(parseAccessMode("multi-node-single-writer"), Mode::MULTI_NODE_SINGLE_WRITER);
  EXPECT_EQ(parseAccessMode("single-node-multi-writer"), Mode::SINGLE_NODE_MULTI_WRITER);
  EXPECT_EQ(parseAccessMode("MULTI_NODE_READER_ONLY"), Mode::MULTI_NODE_READER_ONLY);
  EXPECT_EQ(parseAccessMode("single_node_writer"), Mode::SINGLE_NODE_WRITER);
}

TEST(ParseAccessMode, RejectsUnknownAndUnknownEnumValue) {
  EXPECT_THROW(parseAccessMode("rw"), std::invalid_argument);
  EXPECT_THROW(parseAccessMode("UNKNOWN"), std::invalid_argument);
  EXPECT_THROW(parseAccessMode(""), std::invalid_argument);
}

TEST(BuildVolumeCapability, DefaultIsSingleNodeWriterMount) {
  const csi::v1::VolumeCapability capability = buildVolumeCapability({});
  EXPECT_TRUE(capability.has_mount());
  EXPECT_FALSE(capability.has_block());
  EXPECT_EQ(capability.mount().fs_type(), "");
  EXPECT_EQ(capability.access_mode().mode(), Mode::SINGLE_NODE_WRITER);
}

TEST(BuildVolumeCapability, BlockVolume) {
  VolumeCapabilitySpec spec;
  spec.block = true;
  spec.access_mode = "rwx";
  const csi::v1::VolumeCapability capability = buildVolumeCapability(spec);
  EXPECT_TRUE(capability.has_block());
  EXPECT_FALSE(capability.has_mount());
  EXPECT_EQ(capability.access_mode().mode(), Mode::MULTI_NODE_MULTI_WRITER);
  EXPECT_EQ(describeVolumeCapability(capability), "block MULTI_NODE_MULTI_WRITER");
}

TEST(BuildVolumeCapability, MountWithFilesystemFlagsAndGroup) {
  VolumeCapabilitySpec spec;
  spec.access_mode = "rox";
  spec.fs_type = "ext4";
  spec.mount_flags = {"noatime", "context=a,b"};
  spec.volume_mount_group = "1000";
  const csi::v1::VolumeCapability capability = buildVolumeCapability(spec);
  ASSERT_TRUE(capability.has_mount());
  EXPECT_EQ(capability.mount().fs_type(), "ext4");
  ASSERT_EQ(capability.mount().mount_flags_size(), 2);
  EXPECT_EQ(capability.mount().mount_flags(0), "noatime");
  EXPECT_EQ(capability.mount().mount_flags(1), "context=a,b");
  EXPECT_EQ(capability.mount().volume_mount_group(), "1000");
  EXPECT_EQ(capability.access_mode().mode(), Mode::MULTI_NODE_READER_ONLY);
  EXPECT_EQ(describeVolumeCapability(capability),
            "mount ext4 [noatime,context=a,b] group=1000 MULTI_NODE_READER_ONLY");
}

TEST(BuildVolumeCapability, RejectsContradictionsAndBadTokens) {
  VolumeCapabilitySpec block_with_fs;
  block_with_fs.block = true;
  block_with_fs.fs_type = "xfs";
  EXPECT_THROW(buildVolumeCapability(block_with_fs), std::invalid_argument);

  VolumeCapabilitySpec block_with_flags;
  block_with_flags.block = true;
  block_with_flags.mount_flags = {"ro"};
  EXPECT_THROW(buildVolumeCapability(block_with_flags), std::invalid_argument);

  VolumeCapabilitySpec spaced_fs;
  spaced_fs.fs_type = "ext4 -o";
  EXPECT_THROW(buildVolumeCapability(spaced_fs), std::invalid_argument);

  VolumeCapabilitySpec comma_fs;
  comma_fs.fs_type = "ext4,xfs";
  EXPECT_THROW(buildVolumeCapability(comma_fs), std::invalid_argument);

  VolumeCapabilitySpec empty_flag;
  empty_flag.mount_flags = {""};
  EXPECT_THROW(buildVolumeCapability(empty_flag), std::invalid_argument);

  VolumeCapabilitySpec bad_mode;
  bad_mode.access_mode = "everyone";
  EXPECT_THROW(buildVolumeCapability(bad_mode), std::invalid_argument);
}

}  // namespace
}  // namespace polycsi::csictl
