// The node plugin's read of its own Node's labels (kube/node_labels.hpp) against the fake API
// server: the labels as the API returns them, a missing Node and a missing grant named with what
// to do, an unavailable API server read again with a growing wait (recorded, not slept), and the
// node ClusterRole of deploy/ granting the read.
#include "kube/node_labels.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "fake_kube_api.hpp"

namespace polycsi::kube {
namespace {

using testing::FakeKubeApi;
using ::testing::HasSubstr;

constexpr const char* kToken = "node-token";

std::unique_ptr<KubeClient> clientFor(const FakeKubeApi& api) {
  KubeConfig config;
  config.baseUrl = api.baseUrl();
  config.token = kToken;
  config.timeout = std::chrono::milliseconds(5000);
  auto client = KubeClient::create(config);
  EXPECT_TRUE(client.isOk()) << client.status().toString();
  return std::move(client).value();
}

// Retries that record their waits instead of sleeping.
struct RecordedWaits {
  std::vector<std::chrono::milliseconds> waits;
  NodeLabelsRetry retry() {
    NodeLabelsRetry r;
    r.sleep = [this](std::chrono::milliseconds d) { waits.push_back(d); };
    return r;
  }
};

TEST(NodeLabelsTest, ReadsTheLabelsOfTheNamedNode) {
  FakeKubeApi api(kToken);
  api.setNode("node-1", {{"topology.polycsi.io/rack", "r1"}, {"kubernetes.io/hostname", "node-1"}});
  api.setNode("node-2", {});
  auto client = clientFor(api);
  auto labels = readNodeLabels(*client, "node-1");
  ASSERT_TRUE(labels.isOk()) << labels.status().toString();
  EXPECT_EQ(*labels,
            (StringMap{{"topology.polycsi.io/rack", "r1"}, {"kubernetes.io/hostname", "node-1"}}));
  auto none = readNodeLabels(*client, "node-2");
  ASSERT_TRUE(none.isOk()) << none.status().toString();
  EXPECT_TRUE(none->empty()) << "a Node without labels has no labels field";
  EXPECT_EQ(api.requests(),
            (std::vector<std::string>{"GET /api/v1/nodes/node-1", "GET /api/v1/nodes/node-2"}));
  EXPECT_EQ(api.callsTheReferenceDoesNotList(), std::vector<std::string>{});
}

TEST(NodeLabelsTest, AMissingNodeOrGrantEndsAtOnceSayingWhatToDo) {
  FakeKubeApi api(kToken);
  auto client = clientFor(api);
  RecordedWaits waits;
  auto missing = readNodeLabelsAtStart(*client, "node-x", waits.retry());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot read the labels of Node node-x"));
  EXPECT_THAT(missing.status().message(), HasSubstr("nodes \"node-x\" not found"));
  EXPECT_THAT(missing.status().message(), HasSubstr("--node-id must be the Kubernetes name"));

  api.setNode("node-x", {{"a", "b"}});
  api.failWith(403);
  auto forbidden = readNodeLabelsAtStart(*client, "node-x", waits.retry());
  EXPECT_EQ(forbidden.status().code(), Code::kPermissionDenied);
  EXPECT_THAT(forbidden.status().message(), HasSubstr("needs `get` on `nodes`"));
  EXPECT_TRUE(waits.waits.empty()) << "waiting cannot heal a missing Node or grant";
  EXPECT_EQ(api.requests().size(), 2u);
}

TEST(NodeLabelsTest, AnUnavailableApiServerIsReadAgainWithAGrowingWaitThenGivenUp) {
  FakeKubeApi api(kToken);
  api.setNode("node-1", {{"rack", "r1"}});
  auto client = clientFor(api);
  api.failWith(503);
  RecordedWaits waits;
  auto unavailable = readNodeLabelsAtStart(*client, "node-1", waits.retry());
  EXPECT_EQ(unavailable.status().code(), Code::kUnavailable);
  EXPECT_THAT(unavailable.status().message(), HasSubstr("(5 attempts)"));
  using std::chrono::milliseconds;
  EXPECT_EQ(waits.waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                    milliseconds(4000), milliseconds(8000)}));
  EXPECT_EQ(api.requests().size(), 5u);

  // The API server comes back while the node waits: the next read answers.
  waits.waits.clear();
  NodeLabelsRetry retry = waits.retry();
  retry.sleep = [&](milliseconds d) {
    waits.waits.push_back(d);
    api.failWith(0);
  };
  auto labels = readNodeLabelsAtStart(*client, "node-1", retry);
  ASSERT_TRUE(labels.isOk()) << labels.status().toString();
  EXPECT_EQ(*labels, (StringMap{{"rack", "r1"}}));
  EXPECT_EQ(waits.waits.size(), 1u);
}

TEST(NodeLabelsTest, OnlyAV1NodeWithStringLabelsIsRead) {
  EXPECT_FALSE(labelsOfNode(nlohmann::json::parse(R"({"kind":"Status"})")).isOk());
  EXPECT_FALSE(
      labelsOfNode(nlohmann::json::parse(R"({"kind":"Node","metadata":{"labels":[1]}})")).isOk());
  EXPECT_FALSE(
      labelsOfNode(nlohmann::json::parse(R"({"kind":"Node","metadata":{"labels":{"a":1}}})"))
          .isOk());
  auto ok = labelsOfNode(nlohmann::json::parse(R"({"kind":"Node","metadata":{"name":"n"}})"));
  ASSERT_TRUE(ok.isOk());
  EXPECT_TRUE(ok->empty());
}

// The node plugin's ClusterRole as deploy/ installs it grants the read; the controller's
// does not need to.
TEST(NodeLabelsTest, TheDeployedNodeClusterRoleGrantsTheRead) {
  FakeKubeApi api(kToken);
  api.setNode("node-1", {{"rack", "r1"}});
  api.enforceClusterRole(POLYCSI_NODE_RBAC, "polycsi-node");
  auto client = clientFor(api);
  auto labels = readNodeLabels(*client, "node-1");
  EXPECT_TRUE(labels.isOk()) << labels.status().toString();
}

}  // namespace
}  // namespace polycsi::kube
