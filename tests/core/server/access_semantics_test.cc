#include "server/access_semantics.hpp"

#include <gtest/gtest.h>

namespace polycsi::server {
namespace {

using A = AccessMode;
using S = AttachSemantics;
using V = VolumeMode;

TEST(AccessSemanticsTest, UndeclaredSingleNodeModesServeAsSingleNodeWriter) {
  Descriptor d;
  d.name = "legacy";
  d.capabilities.push_back({A::kSingleNodeWriter, V::kFilesystem, S::kExclusive});
  EXPECT_EQ(effectiveSemantics(d, A::kSingleNodeMultiWriter, V::kFilesystem), S::kExclusive);
  EXPECT_EQ(effectiveSemantics(d, A::kSingleNodeSingleWriter, V::kFilesystem), S::kExclusive);
  // Only the single-node modes fall back, and only where SINGLE_NODE_WRITER is declared.
  EXPECT_EQ(effectiveSemantics(d, A::kMultiNodeMultiWriter, V::kFilesystem), S::kUnsupported);
  EXPECT_EQ(effectiveSemantics(d, A::kSingleNodeMultiWriter, V::kBlock), S::kUnsupported);
  std::string why = effectiveUnsupportedReason(d, A::kSingleNodeMultiWriter, V::kBlock);
  EXPECT_NE(why.find("SINGLE_NODE_MULTI_WRITER is served as SINGLE_NODE_WRITER"), std::string::npos)
      << why;
}

TEST(AccessSemanticsTest, ADeclaredSingleNodeModeIsTakenAtItsWord) {
  Descriptor d;
  d.name = "strict";
  d.capabilities.push_back({A::kSingleNodeWriter, V::kBlock, S::kExclusive});
  d.capabilities.push_back(
      {A::kSingleNodeMultiWriter, V::kBlock, S::kUnsupported, "one writer per device"});
  EXPECT_EQ(effectiveSemantics(d, A::kSingleNodeMultiWriter, V::kBlock), S::kUnsupported);
  EXPECT_EQ(effectiveUnsupportedReason(d, A::kSingleNodeMultiWriter, V::kBlock),
            "one writer per device");
  EXPECT_EQ(effectiveSemantics(d, A::kSingleNodeSingleWriter, V::kBlock), S::kExclusive);
}

}  // namespace
}  // namespace polycsi::server
