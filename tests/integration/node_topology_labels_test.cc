// One node configuration for a whole cluster (docs/topology.md, "One node DaemonSet for every
// rack"): two sample backends in two racks, `node.topology_from_node_labels: true`, and two
// `polycsi serve --mode node` processes whose Nodes the fake API server labels with one rack
// each. Each reports only its rack and its volume limit (one from the setting, one from its
// node label), refuses to stage or publish a volume of the other rack's backend, and a node
// whose Node the API does not know does not start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "fake_kube_api.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

using ::testing::HasSubstr;
using Segments = std::map<std::string, std::string>;

constexpr char kToken[] = "node-token";
constexpr char kRack[] = "topology.polycsi.io/rack";

class NodeTopologyFromLabelsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(work_.str() + "/token") << kToken;
    api_.setNode("node-1", {{kRack, "r1"}, {"kubernetes.io/hostname", "node-1"}});
    // This node holds fewer volumes: its label overrides the setting (as Dell csi-powerstore's
    // max-powerstore-volumes-per-node does).
    api_.setNode("node-2", {{kRack, "r2"},
                            {"kubernetes.io/hostname", "node-2"},
                            {"polycsi.csi.io/max-volumes-per-node", "3"}});
    // The node plugin's service account may do only what deploy/ grants it.
    api_.enforceClusterRole(POLYCSI_NODE_RBAC, "polycsi-node");
  }
  void TearDown() override {
    // Every request the nodes made is one docs/fidelity.md lists with its public source.
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
    if (HasFailure())
      for (const auto& [name, node] : nodes_) std::cerr << name << " log:\n" << node->log();
  }

  // The same configuration for every node: both racks' backends.
  std::string config() const {
    return std::string("backends:\n") + "  - name: s-a\n    plugin: sample\n    topology: {" +
           kRack + ": r1}\n    settings: {directory: " + work_.str() + "/a}\n" +
           "  - name: s-b\n    plugin: sample\n    topology: {" + kRack +
           ": r2}\n    settings: {directory: " + work_.str() + "/b}\n" +
           "node:\n  topology_from_node_labels: true\n  max_volumes_per_node: 12\n";
  }
  // A node process for Node `name`, with its own socket and state, talking to the fake API.
  DriverProcess& node(const std::string& name) {
    auto& slot = nodes_[name];
    if (!slot) {
      std::filesystem::create_directories(work_.str() + "/" + name);
      slot = std::make_unique<DriverProcess>(
          work_.str() + "/" + name, config(), name,
          std::vector<std::string>{"--mode", "node", "--kubernetes-api", api_.baseUrl(),
                                   "--kubernetes-token-file", work_.str() + "/token"});
    }
    return *slot;
  }
  csi::v1::NodeGetInfoResponse info(DriverProcess& driver) {
    csi::v1::NodeGetInfoResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver.node().NodeGetInfo(ctx.get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }

  TempDir work_;
  kube::testing::FakeKubeApi api_{kToken};
  std::map<std::string, std::unique_ptr<DriverProcess>> nodes_;
};

TEST_F(NodeTopologyFromLabelsTest, EachNodeReportsOnlyItsRackAndItsLimit) {
  DriverProcess& one = node("node-1");
  DriverProcess& two = node("node-2");
  one.start();
  two.start();
  auto infoOne = info(one);
  EXPECT_EQ(Segments(infoOne.accessible_topology().segments().begin(),
                     infoOne.accessible_topology().segments().end()),
            (Segments{{kRack, "r1"}}));
  EXPECT_EQ(infoOne.max_volumes_per_node(), 12) << "node.max_volumes_per_node";
  auto infoTwo = info(two);
  EXPECT_EQ(Segments(infoTwo.accessible_topology().segments().begin(),
                     infoTwo.accessible_topology().segments().end()),
            (Segments{{kRack, "r2"}}));
  EXPECT_EQ(infoTwo.max_volumes_per_node(), 3) << "the node label overrides the setting";
  EXPECT_THAT(api_.requests(), ::testing::UnorderedElementsAre("GET /api/v1/nodes/node-1",
                                                               "GET /api/v1/nodes/node-2"));
}

TEST_F(NodeTopologyFromLabelsTest, AVolumeOfTheOtherRackIsRefusedBeforeAnythingIsAttached) {
  DriverProcess& one = node("node-1");
  one.start();
  const std::string staging = work_.str() + "/node-1/staging";
  csi::v1::NodeStageVolumeRequest stage;
  stage.set_volume_id("s-b:pvc-elsewhere");
  stage.set_staging_target_path(staging);
  *stage.mutable_volume_capability() = blockCapability();
  csi::v1::NodeStageVolumeResponse staged;
  auto ctx = rpcContext();
  grpc::Status s = one.node().NodeStageVolume(ctx.get(), stage, &staged);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(),
              HasSubstr("backend 's-b' is reachable only from nodes in segment "
                        "topology.polycsi.io/rack=r2, but node node-1 has the labels "
                        "topology.polycsi.io/rack=r1"));

  csi::v1::NodePublishVolumeRequest publish;
  publish.set_volume_id("s-b:pvc-elsewhere");
  publish.set_staging_target_path(staging);
  publish.set_target_path(work_.str() + "/node-1/target");
  *publish.mutable_volume_capability() = blockCapability();
  csi::v1::NodePublishVolumeResponse published;
  auto publishCtx = rpcContext();
  s = one.node().NodePublishVolume(publishCtx.get(), publish, &published);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("backend 's-b' is reachable only from nodes in "
                                           "segment topology.polycsi.io/rack=r2"));

  // A volume of its own rack gets past the check: the sample plugin answers for it (it has no
  // such volume), not the topology.
  stage.set_volume_id("s-a:pvc-here");
  auto hereCtx = rpcContext();
  s = one.node().NodeStageVolume(hereCtx.get(), stage, &staged);
  EXPECT_THAT(s.error_message(), ::testing::Not(HasSubstr("reachable only from")));
}

TEST_F(NodeTopologyFromLabelsTest, ANodeWhoseLabelsCannotBeReadDoesNotStart) {
  DriverProcess& unknown = node("node-3");
  EXPECT_THROW(unknown.start(), std::runtime_error);
  EXPECT_FALSE(unknown.running());
  const std::string log = unknown.log();
  EXPECT_THAT(log, HasSubstr("node.topology_from_node_labels: cannot read the labels of Node "
                             "node-3"));
  EXPECT_THAT(log, HasSubstr("nodes \"node-3\" not found"));
  EXPECT_THAT(log, HasSubstr("a node must not report a topology it cannot check"));
}

}  // namespace
}  // namespace polycsi::testing
