#include "server/csi_validation.hpp"

#include <gtest/gtest.h>

namespace polycsi::server {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

csi::v1::VolumeCapability mount(Mode::Mode mode, const std::string& fs = "") {
  csi::v1::VolumeCapability cap;
  cap.mutable_mount()->set_fs_type(fs);
  cap.mutable_access_mode()->set_mode(mode);
  return cap;
}

TEST(CsiValidationTest, CapabilityModesAreDecoded) {
  auto modes = checkCapability(mount(Mode::MULTI_NODE_MULTI_WRITER, "xfs"), "cap");
  ASSERT_TRUE(modes.isOk());
  EXPECT_EQ(modes->access, AccessMode::kMultiNodeMultiWriter);
  EXPECT_EQ(modes->volume, VolumeMode::kFilesystem);
  csi::v1::VolumeCapability block;
  block.mutable_block();
  block.mutable_access_mode()->set_mode(Mode::SINGLE_NODE_SINGLE_WRITER);
  auto blockModes = checkCapability(block, "cap");
  ASSERT_TRUE(blockModes.isOk());
  EXPECT_EQ(blockModes->volume, VolumeMode::kBlock);
  EXPECT_EQ(blockModes->access, AccessMode::kSingleNodeSingleWriter);
}

TEST(CsiValidationTest, IncompleteCapabilitiesNameTheField) {
  csi::v1::VolumeCapability noType;
  noType.mutable_access_mode()->set_mode(Mode::SINGLE_NODE_WRITER);
  auto s = checkCapability(noType, "volume_capabilities[2]");
  EXPECT_EQ(s.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(s.status().message(),
            "volume_capabilities[2].access_type (block or mount) is required");

  csi::v1::VolumeCapability noMode;
  noMode.mutable_block();
  EXPECT_EQ(checkCapability(noMode, "c").status().message(), "c.access_mode is required");
  EXPECT_EQ(checkCapability(mount(Mode::UNKNOWN), "c").status().message(),
            "c.access_mode.mode is unknown");
  EXPECT_EQ(checkCapability(mount(Mode::SINGLE_NODE_WRITER, "btrfs"), "c").status().code(),
            Code::kInvalidArgument);
  auto flag = mount(Mode::SINGLE_NODE_WRITER);
  flag.mutable_mount()->add_mount_flags("noatime\nrw");
  EXPECT_EQ(checkCapability(flag, "c").status().code(), Code::kInvalidArgument);
}

TEST(CsiValidationTest, CapacityRanges) {
  csi::v1::CapacityRange r;
  EXPECT_TRUE(checkCapacityRange(r).isOk());
  r.set_required_bytes(10);
  r.set_limit_bytes(10);
  EXPECT_TRUE(checkCapacityRange(r).isOk());
  r.set_limit_bytes(9);
  EXPECT_EQ(checkCapacityRange(r).message(),
            "capacity_range.required_bytes (10) exceeds limit_bytes (9)");
  r.set_limit_bytes(0);
  EXPECT_TRUE(checkCapacityRange(r).isOk()) << "0 means no limit";
  r.set_required_bytes(-1);
  EXPECT_EQ(checkCapacityRange(r).code(), Code::kInvalidArgument);
}

TEST(CsiValidationTest, PathsMustBeAbsoluteAndStayPut) {
  EXPECT_TRUE(checkPath("/var/lib/kubelet/x", "p").isOk());
  EXPECT_TRUE(checkPath("/a/..b/c..", "p").isOk()) << "only whole '..' components are refused";
  EXPECT_EQ(checkPath("", "target_path").message(), "target_path is required");
  EXPECT_EQ(checkPath("a/b", "p").message(), "p must be absolute");
  EXPECT_EQ(checkPath("/a/../b", "p").message(), "p must not contain '..'");
  EXPECT_EQ(checkPath("/a/..", "p").message(), "p must not contain '..'");
  EXPECT_EQ(checkPath(std::string("/a\nb"), "p").code(), Code::kInvalidArgument);
  EXPECT_EQ(checkPath(std::string("/a\0b", 4), "p").code(), Code::kInvalidArgument);
}

TEST(CsiValidationTest, MigrationTimeoutBoundsAndDefault) {
  google::protobuf::Map<std::string, std::string> p;
  EXPECT_EQ(*migrationTimeoutSeconds(p), 300);
  for (const auto& [text, value] : {std::pair{"30", 30}, {"3600", 3600}, {"600", 600}}) {
    p["migrationTimeoutSeconds"] = text;
    auto v = migrationTimeoutSeconds(p);
    ASSERT_TRUE(v.isOk()) << text;
    EXPECT_EQ(*v, value);
  }
  for (const char* bad : {"29", "3601", "-5", "5m", " 60", "60 ", "", "1e3"}) {
    p["migrationTimeoutSeconds"] = bad;
    auto v = migrationTimeoutSeconds(p);
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument) << "'" << bad << "'";
  }
}

TEST(CsiValidationTest, EncryptionIsTrueOrFalseAndOffWhenAbsent) {
  google::protobuf::Map<std::string, std::string> p;
  EXPECT_FALSE(*encryptionRequested(p, kEncryptedParameter, "parameters.encrypted"));
  p[kEncryptedParameter] = "true";
  EXPECT_TRUE(*encryptionRequested(p, kEncryptedParameter, "parameters.encrypted"));
  p[kEncryptedParameter] = "false";
  EXPECT_FALSE(*encryptionRequested(p, kEncryptedParameter, "parameters.encrypted"));
  for (const char* bad : {"True", "yes", "1", "", " true"}) {
    p[kEncryptedParameter] = bad;
    auto v = encryptionRequested(p, kEncryptedParameter, "parameters.encrypted");
    ASSERT_FALSE(v.isOk()) << bad;
    EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(v.status().message(), std::string("parameters.encrypted must be \"true\" or "
                                                "\"false\", got '") +
                                        bad + "'");
  }
}

}  // namespace
}  // namespace polycsi::server
