// checkDescriptor on hand-built C descriptors: every rule the loader applies.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "plugin_host/plugin_loader.hpp"

namespace polycsi::plugin_host {
namespace {

polycsi_str s(const char* text) { return polycsi_str{text, std::char_traits<char>::length(text)}; }

struct DescriptorBuilder {
  std::vector<polycsi_capability> capabilities;
  std::vector<polycsi_setting_spec> settings;
  std::vector<polycsi_setting_spec> parameters;
  const char* name = "rds_nvme";
  const char* prefix = "rds_csi";

  polycsi_descriptor build() const {
    return polycsi_descriptor{s(name),          s("1.0.0"),          s("test"),
                              s(prefix),        capabilities.data(), capabilities.size(),
                              settings.data(),  settings.size(),     parameters.data(),
                              parameters.size()};
  }
};

// Stores a raw integer in a C enum field, as a careless or hostile plugin might: values outside
// the enum's range cannot be produced by a cast without undefined behaviour.
template <typename Enum>
void setRaw(Enum& field, int32_t value) {
  static_assert(sizeof(Enum) == sizeof(int32_t));
  std::memcpy(&field, &value, sizeof(value));
}

polycsi_capability cap(int32_t access, int32_t volume, int32_t semantics) {
  polycsi_capability c{};
  setRaw(c.access_mode, access);
  setRaw(c.volume_mode, volume);
  setRaw(c.semantics, semantics);
  c.reason = s("");
  return c;
}

polycsi_setting_spec spec(const char* name, int32_t kind) {
  polycsi_setting_spec p{};
  p.name = s(name);
  setRaw(p.kind, kind);
  p.description = s("");
  return p;
}

// Since ABI 1.2 a setting may be required by one role; the roles must be known bits, and a
// plugin built against 1.1 is not asked (its descriptor has no such member to read).
TEST(CheckDescriptorTest, RequiredRolesMustBeKnownRoleBits) {
  DescriptorBuilder b;
  b.settings = {spec("address", 0), spec("device", 0)};
  const uint32_t good[] = {POLYCSI_ROLE_CONTROLLER, POLYCSI_ROLE_NODE};
  polycsi_descriptor d = b.build();
  d.setting_required_roles = good;
  EXPECT_EQ(checkDescriptor(d, "rds_nvme", 2), "");
  const uint32_t bad[] = {0, 4};
  d.setting_required_roles = bad;
  EXPECT_EQ(checkDescriptor(d, "rds_nvme", 2),
            "settings[1] 'device': required roles 4 are not a combination of 1 (controller) and "
            "2 (node)");
  EXPECT_EQ(checkDescriptor(d, "rds_nvme", 1), "");
}

// Since ABI 1.3 a plugin declares the consistency of its group snapshots: one of 0..2. A plugin
// built against 1.2 is not asked (its descriptor ends before the member).
TEST(CheckDescriptorTest, GroupSnapshotConsistencyMustBeKnown) {
  DescriptorBuilder b;
  polycsi_descriptor d = b.build();
  for (int32_t known : {0, 1, 2}) {
    setRaw(d.group_snapshot_consistency, known);
    EXPECT_EQ(checkDescriptor(d, "rds_nvme", 3), "") << known;
  }
  setRaw(d.group_snapshot_consistency, 3);
  EXPECT_EQ(checkDescriptor(d, "rds_nvme", 3),
            "group snapshot consistency 3 is not 0 (none), 1 (per volume in sequence) or 2 "
            "(crash-consistent)");
  EXPECT_EQ(checkDescriptor(d, "rds_nvme", 2), "");
}

TEST(CheckDescriptorTest, AcceptsASaneDescriptor) {
  DescriptorBuilder b;
  b.capabilities = {cap(1, 0, 1), cap(5, 0, 3), cap(5, 1, 0), cap(7, 1, 2)};
  b.settings = {spec("address", 0), spec("port", 1), spec("pools", 3)};
  b.parameters = {spec("pool", 0)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "");
}

TEST(CheckDescriptorTest, ChecksTheName) {
  DescriptorBuilder b;
  b.name = "Rds-NVMe";
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "descriptor name 'Rds-NVMe' must match [a-z0-9_]+");
  b.name = "";
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "descriptor name '' must match [a-z0-9_]+");
  b.name = "nfs";
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "descriptor name 'nfs' does not match the file's plugin name 'rds_nvme'");
}

TEST(CheckDescriptorTest, ChecksTheMetricsPrefix) {
  DescriptorBuilder b;
  for (const char* bad : {"", "1rds", "rds-csi", "Rds"}) {
    b.prefix = bad;
    EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
              std::string("metrics prefix '") + bad + "' must match [a-z_][a-z0-9_]*");
  }
  b.prefix = "_rds_csi2";
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "");
}

TEST(CheckDescriptorTest, ChecksCapabilityValues) {
  DescriptorBuilder b;
  b.capabilities = {cap(0, 0, 1)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[0]: access mode 0 is not one of 1..7");
  b.capabilities = {cap(1, 0, 1), cap(8, 0, 1)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[1]: access mode 8 is not one of 1..7");
  b.capabilities = {cap(1, 2, 1)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[0]: volume mode 2 is not 0 (block) or 1 (filesystem)");
  b.capabilities = {cap(1, 0, 4)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[0]: attach semantics 4 is not one of 0..3");
  b.capabilities = {cap(1, 0, -1)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[0]: attach semantics -1 is not one of 0..3");
}

TEST(CheckDescriptorTest, RefusesDuplicatePairs) {
  DescriptorBuilder b;
  b.capabilities = {cap(1, 0, 1), cap(1, 1, 1), cap(1, 0, 2)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[2]: SINGLE_NODE_WRITER with volume mode block is declared twice");
}

TEST(CheckDescriptorTest, MigrationWindowOnlyForBlock) {
  DescriptorBuilder b;
  b.capabilities = {cap(5, 1, 3)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"),
            "capability[0]: migration_window is only allowed for block volumes, not "
            "MULTI_NODE_MULTI_WRITER with volume mode filesystem");
}

TEST(CheckDescriptorTest, ChecksSettingAndParameterSpecs) {
  DescriptorBuilder b;
  b.settings = {spec("a", 0), spec("a", 1)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "settings[1]: 'a' is declared twice");
  b.settings = {spec("", 0)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "settings[0]: name is empty");
  b.settings = {spec("a", 4)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "settings[0] 'a': kind 4 is not one of 0..3");
  b.settings = {};
  b.parameters = {spec("p", 9)};
  EXPECT_EQ(checkDescriptor(b.build(), "rds_nvme"), "parameters[0] 'p': kind 9 is not one of 0..3");
}

TEST(CheckDescriptorTest, RefusesCountsWithoutArrays) {
  polycsi_descriptor d = DescriptorBuilder{}.build();
  d.capabilities = nullptr;
  d.capability_count = 2;
  EXPECT_EQ(checkDescriptor(d, "rds_nvme"), "descriptor lists 2 capabilities but no array");
}

}  // namespace
}  // namespace polycsi::plugin_host
