#include <gtest/gtest.h>

#include <string>

#include "volume/volume_id.hpp"

namespace polycsi::volume {
namespace {

NodeId roundTrip(const NodeId& id) {
  auto text = encodeNodeId(id);
  EXPECT_TRUE(text.isOk()) << text.status().toString();
  auto back = decodeNodeId(*text);
  EXPECT_TRUE(back.isOk()) << back.status().toString();
  return *back;
}

TEST(NodeIdTest, NoIdentities) {
  NodeId id{"worker-1.example", {}};
  EXPECT_EQ(*encodeNodeId(id), "worker-1.example");
  NodeId back = roundTrip(id);
  EXPECT_EQ(back.name, "worker-1.example");
  EXPECT_TRUE(back.identities.empty());
}

TEST(NodeIdTest, OneIdentity) {
  NodeId id{"Worker-1", {{"rds_nvme", "nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1"}}};
  EXPECT_EQ(*encodeNodeId(id), "Worker-1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:1b4e28ba-2fa1");
  NodeId back = roundTrip(id);
  EXPECT_EQ(back.name, id.name);
  EXPECT_EQ(back.identities, id.identities);
}

TEST(NodeIdTest, ThreeIdentitiesSortedByPlugin) {
  NodeId id{"n1",
            {{"rds_nvme", "nqn.host"},
             {"iscsi_powerstore", "iqn.1993-08.org.debian:01:ab"},
             {"nfs", ""}}};
  EXPECT_EQ(*encodeNodeId(id),
            "n1|iscsi_powerstore=iqn.1993-08.org.debian:01:ab|nfs=|rds_nvme=nqn.host");
  NodeId back = roundTrip(id);
  EXPECT_EQ(back.identities, id.identities);
  // Stable: encoding the decoded id yields the same text.
  EXPECT_EQ(*encodeNodeId(back), *encodeNodeId(id));
  // Decoding does not depend on the order in the text.
  auto unordered =
      decodeNodeId("n1|rds_nvme=nqn.host|nfs=|iscsi_powerstore=iqn.1993-08.org.debian:01:ab");
  ASSERT_TRUE(unordered.isOk()) << unordered.status().toString();
  EXPECT_EQ(unordered->identities, id.identities);
}

TEST(NodeIdTest, RefusesSeparatorsInsideParts) {
  EXPECT_EQ(encodeNodeId({"a|b", {}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encodeNodeId({"a=b", {}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encodeNodeId({"n", {{"p|q", "x"}}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encodeNodeId({"n", {{"p=q", "x"}}}).status().code(), Code::kInvalidArgument);
  auto bar = encodeNodeId({"n", {{"p", "x|y"}}});
  EXPECT_EQ(bar.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bar.status().message(),
            "cannot encode node id: identity 'x|y' of plugin p may only contain [A-Za-z0-9.:_-]");
  EXPECT_EQ(encodeNodeId({"n", {{"p", "x=y"}}}).status().code(), Code::kInvalidArgument);
}

TEST(NodeIdTest, RefusesBadNamesAndCharacters) {
  EXPECT_EQ(encodeNodeId({"", {}}).status().message(), "cannot encode node id: node name is empty");
  EXPECT_EQ(encodeNodeId({"node_1", {}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encodeNodeId({"n", {{"", "x"}}}).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(encodeNodeId({"n", {{"Rds", "x"}}}).status().message(),
            "cannot encode node id: plugin name 'Rds' may only contain [a-z0-9_]");
  EXPECT_EQ(encodeNodeId({"n", {{"p", "a b"}}}).status().code(), Code::kInvalidArgument);
}

TEST(NodeIdTest, MaximumLength) {
  // "n|p=" is 4 bytes; the identity fills the rest.
  NodeId exact{"n", {{"p", std::string(kMaxNodeIdBytes - 4, 'i')}}};
  auto text = encodeNodeId(exact);
  ASSERT_TRUE(text.isOk()) << text.status().toString();
  EXPECT_EQ(text->size(), kMaxNodeIdBytes);
  EXPECT_TRUE(decodeNodeId(*text).isOk());

  NodeId over{"n", {{"p", std::string(kMaxNodeIdBytes - 3, 'i')}}};
  auto tooLong = encodeNodeId(over);
  EXPECT_EQ(tooLong.status().code(), Code::kInvalidArgument);
  EXPECT_NE(tooLong.status().message().find("257 bytes, more than 256"), std::string::npos);
  EXPECT_EQ(decodeNodeId("n|p=" + std::string(kMaxNodeIdBytes - 3, 'i')).status().code(),
            Code::kInvalidArgument);
}

TEST(NodeIdTest, DecodeRefusesMalformedText) {
  struct Case {
    std::string text;
    std::string why;
  };
  const Case cases[] = {
      {"", "node name is empty"},
      {"|p=x", "node name is empty"},
      {"n|", "'' is not <plugin>=<identity>"},
      {"n|px", "'px' is not <plugin>=<identity>"},
      {"n|=x", "plugin name is empty"},
      {"n|p=x|p=y", "plugin p appears twice"},
      {"n|p=x=y", "identity 'x=y' of plugin p may only contain [A-Za-z0-9.:_-]"},
      {"n m", "node name 'n m' may only contain [A-Za-z0-9.-]"},
  };
  for (const auto& c : cases) {
    auto id = decodeNodeId(c.text);
    ASSERT_FALSE(id.isOk()) << c.text;
    EXPECT_EQ(id.status().code(), Code::kInvalidArgument) << c.text;
    EXPECT_EQ(id.status().message(), "node id '" + c.text + "' is malformed: " + c.why);
  }
}

}  // namespace
}  // namespace polycsi::volume
