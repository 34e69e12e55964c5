// The node process's settings (`node:`) and what a node reports and reaches
// (config/node_profile.hpp): the section refused with its key path, the segments of the backends
// a node's labels reach, the refusal naming backend, segment and labels, and the volume limit
// with its per-node label.
#include "config/node_profile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace polycsi::config {
namespace {

using ::testing::HasSubstr;

constexpr char kRack[] = "topology.polycsi.io/rack";

// Two rack backends and one every node reaches, then `nodeSection`.
std::string rackConfig(const std::string& nodeSection) {
  return std::string("state_path: /var/lib/polycsi\nbackends:\n") +
         "  - name: rds-a\n    plugin: rds_nvme\n    topology: {" + kRack + ": r1}\n" +
         "  - name: rds-b\n    plugin: rds_nvme\n    topology: {" + kRack + ": r2}\n" +
         "  - name: nfs\n    plugin: nfs\n" + nodeSection;
}

DriverConfig parsed(const std::string& yaml) {
  auto config = parseConfig(yaml);
  EXPECT_TRUE(config.isOk()) << config.status().toString();
  return config.isOk() ? *config : DriverConfig{};
}

std::string errorOf(const std::string& yaml) {
  auto config = parseConfig(yaml);
  if (config.isOk()) return "";
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
  return config.status().message();
}

TEST(NodeSettingsConfigTest, DefaultsAreConfigurationTopologyAndNoLimit) {
  DriverConfig config = parsed(rackConfig(""));
  EXPECT_FALSE(config.node.topologyFromNodeLabels);
  EXPECT_EQ(config.node.maxVolumesPerNode, 0);
}

TEST(NodeSettingsConfigTest, ReadsTheNodeSection) {
  DriverConfig config =
      parsed(rackConfig("node:\n  topology_from_node_labels: true\n  max_volumes_per_node: 24\n"));
  EXPECT_TRUE(config.node.topologyFromNodeLabels);
  EXPECT_EQ(config.node.maxVolumesPerNode, 24);
  EXPECT_EQ(parsed(rackConfig("node: {max_volumes_per_node: 0}\n")).node.maxVolumesPerNode, 0);
  EXPECT_EQ(parsed(rackConfig("node:\n")).node.maxVolumesPerNode, 0) << "an empty section";
}

TEST(NodeSettingsConfigTest, RefusesWhatIsWrongNamingTheKeyPath) {
  struct Case {
    std::string section;
    std::string message;
  };
  const Case cases[] = {
      {"node: [a]\n",
       "node: must be a map of node settings (topology_from_node_labels, "
       "max_volumes_per_node)"},
      {"node: {labels: true}\n",
       "node.labels: unknown key (expected one of: "
       "topology_from_node_labels, max_volumes_per_node)"},
      {"node: {topology_from_node_labels: yes}\n",
       "node.topology_from_node_labels: must be true or false, got 'yes'"},
      {"node: {max_volumes_per_node: -1}\n",
       "node.max_volumes_per_node: must be a non-negative integer (0: no limit), got '-1'"},
      {"node: {max_volumes_per_node: 1.5}\n",
       "node.max_volumes_per_node: must be a non-negative integer (0: no limit), got '1.5'"},
      {"node: {max_volumes_per_node: many}\n",
       "node.max_volumes_per_node: must be a non-negative integer (0: no limit), got 'many'"},
      {"node: {max_volumes_per_node: 99999999999999999999}\n",
       "node.max_volumes_per_node: must be a non-negative integer (0: no limit), got "
       "'99999999999999999999'"},
      {"node: {max_volumes_per_node: [1]}\n",
       "node.max_volumes_per_node: must be a single value, not a list or map"},
      {"node: {max_volumes_per_node: ~}\n", "node.max_volumes_per_node: has no value"},
  };
  for (const Case& c : cases) EXPECT_EQ(errorOf(rackConfig(c.section)), c.message) << c.section;
}

TEST(VolumeCountTest, AcceptsDigitsUpToInt64Only) {
  EXPECT_EQ(parseVolumeCount("0"), 0);
  EXPECT_EQ(parseVolumeCount("007"), 7);
  EXPECT_EQ(parseVolumeCount("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parseVolumeCount("9223372036854775808"));
  EXPECT_FALSE(parseVolumeCount(""));
  EXPECT_FALSE(parseVolumeCount("+3"));
  EXPECT_FALSE(parseVolumeCount(" 3"));
  EXPECT_FALSE(parseVolumeCount("3k"));
}

// Without labels: the union of the configured segments, as before, and conflicts refused.
TEST(NodeProfileTest, FromTheConfigurationEveryBackendIsReached) {
  DriverConfig config =
      parsed("state_path: /s\nbackends:\n  - name: rds-a\n    plugin: rds_nvme\n    topology: {" +
             std::string(kRack) +
             ": r1}\n  - name: nfs\n    plugin: nfs\nnode: {max_volumes_per_node: 9}\n");
  auto profile = nodeProfile(config, "node-1", std::nullopt);
  ASSERT_TRUE(profile.isOk()) << profile.status().toString();
  EXPECT_EQ(profile->topology, (StringMap{{kRack, "r1"}}));
  EXPECT_EQ(profile->maxVolumesPerNode, 9);
  EXPECT_FALSE(profile->labels);
  for (const auto& backend : config.backends)
    EXPECT_TRUE(checkNodeReaches(*profile, backend, "node-1").isOk()) << backend.name;

  auto conflicting = nodeProfile(parsed(rackConfig("")), "node-1", std::nullopt);
  EXPECT_EQ(conflicting.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(conflicting.status().message(), HasSubstr("put this node in two segments"));
}

TEST(NodeProfileTest, FromLabelsOnlyTheBackendsTheLabelsCarryAreReported) {
  DriverConfig config = parsed(rackConfig("node: {topology_from_node_labels: true}\n"));
  const StringMap inR2 = {
      {kRack, "r2"}, {"kubernetes.io/hostname", "node-2"}, {"kubernetes.io/os", "linux"}};
  auto profile = nodeProfile(config, "node-2", inR2);
  ASSERT_TRUE(profile.isOk()) << profile.status().toString();
  EXPECT_EQ(profile->topology, (StringMap{{kRack, "r2"}})) << "only the backends' keys";
  EXPECT_FALSE(checkNodeReaches(*profile, config.backends[0], "node-2").isOk());
  EXPECT_TRUE(checkNodeReaches(*profile, config.backends[1], "node-2").isOk());
  EXPECT_TRUE(checkNodeReaches(*profile, config.backends[2], "node-2").isOk())
      << "a backend without topology reaches every node";

  // A node in no rack of the configuration reports nothing and reaches only the untied backend.
  auto elsewhere = nodeProfile(config, "node-9", StringMap{{kRack, "r7"}});
  ASSERT_TRUE(elsewhere.isOk());
  EXPECT_TRUE(elsewhere->topology.empty());
  EXPECT_FALSE(checkNodeReaches(*elsewhere, config.backends[1], "node-9").isOk());
  EXPECT_TRUE(checkNodeReaches(*elsewhere, config.backends[2], "node-9").isOk());
}

TEST(NodeProfileTest, ABackendOfSeveralKeysNeedsEveryOneOfThem) {
  DriverConfig config = parsed(
      "state_path: /s\nbackends:\n  - name: ps\n    plugin: iscsi_powerstore\n    topology:\n"
      "      topology.kubernetes.io/zone: z1\n      topology.polycsi.io/rack: r1\n"
      "node: {topology_from_node_labels: true}\n");
  auto partial = nodeProfile(config, "n", StringMap{{"topology.polycsi.io/rack", "r1"}});
  ASSERT_TRUE(partial.isOk());
  EXPECT_TRUE(partial->topology.empty());
  auto refused = checkNodeReaches(*partial, config.backends[0], "n");
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_THAT(refused.message(),
              HasSubstr("node n has the labels topology.kubernetes.io/zone (absent), "
                        "topology.polycsi.io/rack=r1"));

  auto full = nodeProfile(
      config, "n",
      StringMap{{"topology.polycsi.io/rack", "r1"}, {"topology.kubernetes.io/zone", "z1"}});
  ASSERT_TRUE(full.isOk());
  EXPECT_EQ(full->topology.size(), 2u);
  EXPECT_TRUE(checkNodeReaches(*full, config.backends[0], "n").isOk());
}

TEST(NodeProfileTest, TheRefusalNamesBackendSegmentAndTheNodesLabels) {
  DriverConfig config = parsed(rackConfig("node: {topology_from_node_labels: true}\n"));
  auto profile = nodeProfile(config, "node-1", StringMap{{kRack, "r1"}});
  ASSERT_TRUE(profile.isOk());
  Status refused = checkNodeReaches(*profile, config.backends[1], "node-1");
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_EQ(refused.message(),
            "backend 'rds-b' is reachable only from nodes in segment "
            "topology.polycsi.io/rack=r2, but node node-1 has the labels "
            "topology.polycsi.io/rack=r1 (node.topology_from_node_labels): this node cannot "
            "reach that storage system; the volume must be used on a node of its segment");
}

// Dell csi-powerstore's max-powerstore-volumes-per-node, under this driver's name.
TEST(NodeProfileTest, TheMaxVolumesLabelOverridesTheSettingOnItsNode) {
  DriverConfig config =
      parsed(rackConfig("driver_name: rds.csi.example.org\n"
                        "node: {topology_from_node_labels: true, max_volumes_per_node: 16}\n"));
  EXPECT_EQ(maxVolumesLabelKey(config), "rds.csi.example.org/max-volumes-per-node");
  auto plain = nodeProfile(config, "n1", StringMap{{kRack, "r1"}});
  ASSERT_TRUE(plain.isOk());
  EXPECT_EQ(plain->maxVolumesPerNode, 16);
  EXPECT_EQ(plain->maxVolumesSource, "node.max_volumes_per_node");

  auto labelled = nodeProfile(
      config, "n2", StringMap{{kRack, "r1"}, {"rds.csi.example.org/max-volumes-per-node", "4"}});
  ASSERT_TRUE(labelled.isOk());
  EXPECT_EQ(labelled->maxVolumesPerNode, 4);
  EXPECT_EQ(labelled->maxVolumesSource, "node label rds.csi.example.org/max-volumes-per-node");

  auto unlimited =
      nodeProfile(config, "n3", StringMap{{"rds.csi.example.org/max-volumes-per-node", "0"}});
  ASSERT_TRUE(unlimited.isOk());
  EXPECT_EQ(unlimited->maxVolumesPerNode, 0) << "0 on the label: no limit on this node";

  // Another driver's label is not this one's.
  auto other = nodeProfile(config, "n4", StringMap{{"polycsi.csi.io/max-volumes-per-node", "2"}});
  ASSERT_TRUE(other.isOk());
  EXPECT_EQ(other->maxVolumesPerNode, 16);

  auto bad =
      nodeProfile(config, "n5", StringMap{{"rds.csi.example.org/max-volumes-per-node", "ten"}});
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "node n5: label rds.csi.example.org/max-volumes-per-node must be a non-negative "
            "integer (0: no limit), got 'ten'; correct or remove the label (it overrides "
            "node.max_volumes_per_node on this node)");
}

}  // namespace
}  // namespace polycsi::config
