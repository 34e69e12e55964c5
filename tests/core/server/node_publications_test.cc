#include "server/node_publications.hpp"

#include <gtest/gtest.h>

namespace polycsi::server {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

csi::v1::NodePublishVolumeRequest request(const std::string& target, Mode::Mode mode,
                                          bool readonly = false) {
  csi::v1::NodePublishVolumeRequest req;
  req.set_volume_id("local:vol-1");
  req.set_staging_target_path("/staging/vol-1");
  req.set_target_path(target);
  req.set_readonly(readonly);
  req.mutable_volume_capability()->mutable_mount()->set_fs_type("ext4");
  req.mutable_volume_capability()->mutable_access_mode()->set_mode(mode);
  return req;
}

NodePublication publication(const std::string& target, Mode::Mode mode, AccessMode access,
                            bool readonly = false) {
  return publicationOf(request(target, mode, readonly), access);
}

TEST(NodePublicationsTest, FingerprintsIgnoreTheTargetAndTheSecretsOnly) {
  auto a = request("/pods/a", Mode::SINGLE_NODE_MULTI_WRITER);
  auto b = request("/pods/b", Mode::SINGLE_NODE_MULTI_WRITER);
  (*b.mutable_secrets())["key"] = "other";
  auto pa = publicationOf(a, AccessMode::kSingleNodeMultiWriter);
  auto pb = publicationOf(b, AccessMode::kSingleNodeMultiWriter);
  EXPECT_EQ(pa.arguments, pb.arguments);
  EXPECT_EQ(pa.capability, pb.capability);
  EXPECT_EQ(pa.arguments.size(), 16u);

  auto c = a;
  (*c.mutable_volume_context())["x"] = "y";
  EXPECT_NE(publicationOf(c, AccessMode::kSingleNodeMultiWriter).arguments, pa.arguments);
  EXPECT_EQ(publicationOf(c, AccessMode::kSingleNodeMultiWriter).capability, pa.capability);
  auto d = a;
  d.mutable_volume_capability()->mutable_mount()->add_mount_flags("noatime");
  EXPECT_NE(publicationOf(d, AccessMode::kSingleNodeMultiWriter).capability, pa.capability);
}

TEST(NodePublicationsTest, TheSameTargetWithTheSameArgumentsIsARepeat) {
  auto first =
      publication("/pods/a", Mode::SINGLE_NODE_SINGLE_WRITER, AccessMode::kSingleNodeSingleWriter);
  EXPECT_TRUE(checkSecondPublish("v", {first}, first).isOk());
}

TEST(NodePublicationsTest, TheSameTargetWithOtherArgumentsAlreadyExists) {
  auto first =
      publication("/pods/a", Mode::MULTI_NODE_MULTI_WRITER, AccessMode::kMultiNodeMultiWriter);
  auto readonly = publication("/pods/a", Mode::MULTI_NODE_MULTI_WRITER,
                              AccessMode::kMultiNodeMultiWriter, true);
  Status s = checkSecondPublish("v", {first}, readonly);
  EXPECT_EQ(s.code(), Code::kAlreadyExists);
  EXPECT_NE(s.message().find("/pods/a"), std::string::npos) << s.message();
}

// The second table of CSI 1.12's NodePublishVolume, column "T1!=T2, P1=P2".
TEST(NodePublicationsTest, AnotherTargetFollowsTheAccessMode) {
  struct Row {
    Mode::Mode mode;
    AccessMode access;
    bool allowed;
  };
  for (const Row& row :
       {Row{Mode::SINGLE_NODE_SINGLE_WRITER, AccessMode::kSingleNodeSingleWriter, false},
        Row{Mode::SINGLE_NODE_WRITER, AccessMode::kSingleNodeWriter, false},
        Row{Mode::SINGLE_NODE_READER_ONLY, AccessMode::kSingleNodeReaderOnly, false},
        Row{Mode::SINGLE_NODE_MULTI_WRITER, AccessMode::kSingleNodeMultiWriter, true},
        Row{Mode::MULTI_NODE_READER_ONLY, AccessMode::kMultiNodeReaderOnly, true},
        Row{Mode::MULTI_NODE_SINGLE_WRITER, AccessMode::kMultiNodeSingleWriter, true},
        Row{Mode::MULTI_NODE_MULTI_WRITER, AccessMode::kMultiNodeMultiWriter, true}}) {
    auto first = publication("/pods/a", row.mode, row.access);
    auto second = publication("/pods/b", row.mode, row.access);
    Status s = checkSecondPublish("v", {first}, second);
    if (row.allowed) {
      EXPECT_TRUE(s.isOk()) << accessModeName(row.access) << ": " << s.message();
    } else {
      EXPECT_EQ(s.code(), Code::kFailedPrecondition) << accessModeName(row.access);
      EXPECT_NE(s.message().find("/pods/a"), std::string::npos) << s.message();
    }
    // Nothing published yet: always allowed.
    EXPECT_TRUE(checkSecondPublish("v", {}, second).isOk());
  }
}

TEST(NodePublicationsTest, AnotherTargetWithAnotherCapabilityIsRefusedInEveryMode) {
  auto first =
      publication("/pods/a", Mode::MULTI_NODE_MULTI_WRITER, AccessMode::kMultiNodeMultiWriter);
  auto other =
      publication("/pods/b", Mode::MULTI_NODE_READER_ONLY, AccessMode::kMultiNodeReaderOnly);
  Status s = checkSecondPublish("v", {first}, other);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("another volume_capability"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace polycsi::server
