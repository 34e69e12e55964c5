#include <gtest/gtest.h>

#include "polycsi/plugin_client.hpp"
#include "sample_test_env.hpp"

namespace polycsi::sample::testing {
namespace {

using A = AccessMode;
using S = AttachSemantics;
constexpr VolumeMode kBlock = VolumeMode::kBlock;
constexpr VolumeMode kFs = VolumeMode::kFilesystem;

TEST(SampleDescriptor, IdentifiesThePlugin) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.name, "sample");
  EXPECT_EQ(d.version, "0.1.0");
  EXPECT_EQ(d.metricsPrefix, "sample_csi");
  EXPECT_FALSE(d.description.empty());
}

TEST(SampleDescriptor, CapabilityMatrixUsesEverySemanticKind) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  for (VolumeMode mode : {kBlock, kFs}) {
    EXPECT_EQ(d.semanticsFor(A::kSingleNodeWriter, mode), S::kExclusive);
    EXPECT_EQ(d.semanticsFor(A::kSingleNodeSingleWriter, mode), S::kExclusive);
    EXPECT_EQ(d.semanticsFor(A::kSingleNodeReaderOnly, mode), S::kExclusive);
    EXPECT_EQ(d.semanticsFor(A::kMultiNodeReaderOnly, mode), S::kShared);
    EXPECT_EQ(d.semanticsFor(A::kMultiNodeSingleWriter, mode), S::kUnsupported);
    EXPECT_NE(d.unsupportedReason(A::kMultiNodeSingleWriter, mode).find("single writer"),
              std::string::npos)
        << d.unsupportedReason(A::kMultiNodeSingleWriter, mode);
  }
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeMultiWriter, kBlock), S::kMigrationWindow);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeMultiWriter, kFs), S::kShared);
  // Reasons only accompany unsupported cells.
  for (const auto& c : d.capabilities)
    EXPECT_EQ(c.reason.empty(), c.semantics != S::kUnsupported) << accessModeName(c.accessMode);
  EXPECT_EQ(d.capabilities.size(), 12u);
}

TEST(SampleDescriptor, DeclaresItsSettingsAndOneMutableParameter) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  ASSERT_EQ(d.settings.size(), 4u);
  EXPECT_EQ(d.settings[0].name, "directory");
  EXPECT_TRUE(d.settings[0].required);
  EXPECT_EQ(d.settings[0].kind, SettingKind::kString);
  EXPECT_EQ(d.settings[1].name, "capacity_bytes");
  EXPECT_EQ(d.settings[1].kind, SettingKind::kInteger);
  EXPECT_FALSE(d.settings[1].required);
  EXPECT_EQ(d.settings[2].name, "max_volume_bytes");
  EXPECT_EQ(d.settings[2].kind, SettingKind::kInteger);
  EXPECT_EQ(d.settings[3].name, "create_delay_ms");
  EXPECT_EQ(d.settings[3].kind, SettingKind::kInteger);
  EXPECT_FALSE(d.settings[3].required);
  // `tier`, which a VolumeAttributesClass may change on a live volume (ControllerModifyVolume).
  ASSERT_EQ(d.parameters.size(), 1u);
  EXPECT_EQ(d.parameters[0].name, "tier");
  EXPECT_TRUE(d.parameters[0].isMutable);
}

TEST(SampleDescriptor, ImplementsEveryOptionalCapabilityButFencing) {
  PluginFeatures f = PluginFeatures::of(polycsi_plugin_entry());
  EXPECT_TRUE(f.restoreSnapshot);
  EXPECT_TRUE(f.cloneVolume);
  EXPECT_TRUE(f.listVolumes);
  EXPECT_TRUE(f.expandVolume);
  EXPECT_TRUE(f.getCapacity);
  EXPECT_TRUE(f.snapshots);
  EXPECT_TRUE(f.nodeExpand);
  EXPECT_TRUE(f.volumeCondition);
  EXPECT_FALSE(f.fencing);
}

}  // namespace
}  // namespace polycsi::sample::testing
