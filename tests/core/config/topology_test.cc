// Backend topology in the configuration (config/topology.hpp): keys and values as Kubernetes
// labels, refused with the key path and the rule broken; the node's segments and their conflicts.
#include "config/topology.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace polycsi::config {
namespace {

using ::testing::HasSubstr;

std::string withBackends(const std::string& backends) {
  return "state_path: /var/lib/polycsi\nbackends:\n" + backends;
}

std::string rdsWithTopology(const std::string& topologyLines) {
  return withBackends("  - name: rds-a\n    plugin: rds_nvme\n    topology:\n" + topologyLines);
}

TEST(TopologyConfigTest, ReadsEachBackendsSegments) {
  auto config = parseConfig(withBackends(
      "  - name: rds-a\n    plugin: rds_nvme\n    topology:\n"
      "      topology.polycsi.io/rack: r1\n      zone: Z_1.a\n"
      "  - name: rds-b\n    plugin: rds_nvme\n    topology: {topology.polycsi.io/rack: "
      "r2}\n"
      "  - name: nfs\n    plugin: nfs\n"));
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  EXPECT_EQ(config->backends[0].topology,
            (StringMap{{"topology.polycsi.io/rack", "r1"}, {"zone", "Z_1.a"}}));
  EXPECT_EQ(config->backends[1].topology, (StringMap{{"topology.polycsi.io/rack", "r2"}}));
  EXPECT_TRUE(config->backends[2].topology.empty());
  EXPECT_TRUE(anyTopology(*config));
}

TEST(TopologyConfigTest, RefusesWhatIsNotAKubernetesLabel) {
  struct Case {
    std::string lines;
    std::string message;
  };
  const Case cases[] = {
      {"      Topology.Polycsi.io/rack: r1\n",
       "backends[0].topology.Topology.Polycsi.io/rack: not a Kubernetes label key (the prefix "
       "must be a DNS subdomain"},
      {"      topology.polycsi.io/: r1\n", "the name after '/' is empty"},
      {"      a/b/c: r1\n", "has more than one '/'"},
      {"      -rack: r1\n", "the name must begin and end with a letter or digit"},
      {"      " + std::string(64, 'k') + ": r1\n", "the name is longer than 63 characters"},
      {"      rack: \"r 1\"\n",
       "backends[0].topology.rack: 'r 1' is not a Kubernetes label value (the value may hold "
       "only letters, digits, '-', '_' and '.')"},
      {"      rack: \"\"\n", "the value is empty"},
      {"      rack: [r1]\n", "backends[0].topology.rack: must be a single value"},
  };
  for (const auto& c : cases) {
    auto config = parseConfig(rdsWithTopology(c.lines));
    ASSERT_FALSE(config.isOk()) << c.lines;
    EXPECT_EQ(config.status().code(), Code::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.message)) << c.lines;
  }
  auto list =
      parseConfig(withBackends("  - name: rds-a\n    plugin: rds_nvme\n    topology: [rack]\n"));
  ASSERT_FALSE(list.isOk());
  EXPECT_THAT(list.status().message(),
              HasSubstr("backends[0].topology: must be a map of topology keys to values"));
}

TEST(TopologyConfigTest, LabelRulesFollowKubernetes) {
  EXPECT_EQ(labelKeyProblem("topology.kubernetes.io/zone"), "");
  EXPECT_EQ(labelKeyProblem("rack"), "");
  EXPECT_EQ(labelKeyProblem("a-b.c/X_y.z"), "");
  EXPECT_NE(labelKeyProblem("a..b/x"), "");
  EXPECT_NE(labelKeyProblem(std::string(254, 'a') + "/x"), "");
  EXPECT_EQ(labelValueProblem(std::string(63, 'v')), "");
  EXPECT_NE(labelValueProblem(std::string(64, 'v')), "");
  EXPECT_NE(labelValueProblem("r1-"), "");
}

TEST(TopologyConfigTest, ASegmentServesTopologiesThatCarryItsKeys) {
  const StringMap rack1{{"rack", "r1"}};
  EXPECT_TRUE(segmentsServe(rack1, {{"rack", "r1"}, {"kubernetes.io/hostname", "n1"}}));
  EXPECT_FALSE(segmentsServe(rack1, {{"rack", "r2"}}));
  EXPECT_FALSE(segmentsServe(rack1, {{"zone", "z"}}));
  EXPECT_TRUE(segmentsServe({}, {{"rack", "r2"}})) << "no topology: every node";
}

TEST(TopologyConfigTest, ANodeReportsTheUnionAndRefusesTwoValuesOfOneKey) {
  auto config =
      parseConfig(withBackends("  - name: rds-a\n    plugin: rds_nvme\n    topology: {rack: r1}\n"
                               "  - name: nfs\n    plugin: nfs\n    topology: {site: s1}\n"
                               "  - name: sample\n    plugin: sample\n"));
  ASSERT_TRUE(config.isOk()) << config.status().toString();
  auto node = nodeTopology(*config);
  ASSERT_TRUE(node.isOk()) << node.status().toString();
  EXPECT_EQ(*node, (StringMap{{"rack", "r1"}, {"site", "s1"}}));

  auto twoRacks = parseConfig(
      withBackends("  - name: rds-a\n    plugin: rds_nvme\n    topology: {rack: r1}\n"
                   "  - name: rds-b\n    plugin: rds_nvme\n    topology: {rack: r2}\n"));
  ASSERT_TRUE(twoRacks.isOk()) << "a controller spans both racks";
  auto refused = nodeTopology(*twoRacks);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("backends 'rds-a' and 'rds-b' put this node in two segments of rack"));
  EXPECT_FALSE(anyTopology(*parseConfig(withBackends("  - name: s\n    plugin: sample\n"))));
}

}  // namespace
}  // namespace polycsi::config
