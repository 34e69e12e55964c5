// A StorageClass spanning several sample backends through polycsi's gRPC interface: volumes land
// on the backend the requested topology names, a backend without room is skipped, a topology no
// backend serves is RESOURCE_EXHAUSTED, a retry lands where the first attempt did, GetCapacity
// per segment agrees with ListVolumes, and NodeGetInfo reports the configured segments
// (docs/topology.md). The sample plugin keeps this cheap: its capacity_bytes setting is exact.
#include <gtest/gtest.h>

#include <map>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_test.hpp"
#include "topology_requests.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int64_t kCapacityA = 64 * kMiB;
constexpr int64_t kCapacityB = 48 * kMiB;

class SampleTopologyTest : public DriverTest {
 protected:
  // Three sample backends: s-a in rack r1, s-b in rack r2 (each with an exact capacity), and
  // s-c without topology; the class under test spans s-a and s-b.
  std::string config() const {
    return "backends:\n"
           "  - name: s-a\n    plugin: sample\n    topology: {" +
           std::string(kRack) + ": r1}\n    settings:\n      directory: " + work_.str() +
           "/a\n      capacity_bytes: " + std::to_string(kCapacityA) +
           "\n"
           "  - name: s-b\n    plugin: sample\n    topology:\n      " +
           kRack + ": r2\n    settings:\n      directory: " + work_.str() +
           "/b\n      capacity_bytes: " + std::to_string(kCapacityB) +
           "\n"
           "  - name: s-c\n    plugin: sample\n    settings:\n      directory: " +
           work_.str() + "/c\n";
  }
  void SetUp() override {
    driver_ = std::make_unique<DriverProcess>(work_.str(), config(), "controller-0",
                                              std::vector<std::string>{"--mode", "controller"});
    driver_->start();
    csi_ = std::make_unique<CsiCalls>(*driver_);
  }

  // CreateVolume of the spanning class (or `parameters`) with the given preferred and
  // requisite topologies.
  grpc::Status create(const std::string& name, int64_t bytes,
                      const std::vector<Segments>& preferred,
                      const std::vector<Segments>& requisite, csi::v1::CreateVolumeResponse* out,
                      std::map<std::string, std::string> parameters = {{"backends", "s-a,s-b"}}) {
    auto req = createRequest(name, bytes, blockCapability(Mode::SINGLE_NODE_WRITER));
    for (const auto& [k, v] : parameters) (*req.mutable_parameters())[k] = v;
    for (const auto& p : preferred)
      *req.mutable_accessibility_requirements()->add_preferred() = topology(p);
    for (const auto& r : requisite)
      *req.mutable_accessibility_requirements()->add_requisite() = topology(r);
    auto ctx = rpcContext();
    return driver_->controller().CreateVolume(ctx.get(), req, out);
  }
  csi::v1::Volume createOk(const std::string& name, int64_t bytes,
                           const std::vector<Segments>& preferred,
                           const std::vector<Segments>& requisite) {
    csi::v1::CreateVolumeResponse resp;
    grpc::Status s = create(name, bytes, preferred, requisite, &resp);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_code() << " " << s.error_message();
    return resp.volume();
  }
  // GetCapacity of the spanning class, in `segment` (none: the whole class).
  int64_t capacity(const Segments* segment, csi::v1::GetCapacityResponse* full = nullptr) {
    csi::v1::GetCapacityRequest req;
    *req.add_volume_capabilities() = blockCapability();
    (*req.mutable_parameters())["backends"] = "s-a,s-b";
    if (segment != nullptr) *req.mutable_accessible_topology() = topology(*segment);
    csi::v1::GetCapacityResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().GetCapacity(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    if (full != nullptr) *full = resp;
    return resp.available_capacity();
  }
  std::vector<csi::v1::Volume> listed() {
    csi::v1::ListVolumesResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().ListVolumes(ctx.get(), {}, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<csi::v1::Volume> out;
    for (const auto& e : resp.entries()) out.push_back(e.volume());
    return out;
  }
};

const Segments kR3{{kRack, "r3"}};

TEST_F(SampleTopologyTest, AdvertisesAccessibilityConstraints) {
  csi::v1::GetPluginCapabilitiesResponse resp;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->identity().GetPluginCapabilities(ctx.get(), {}, &resp));
  bool constraints = false;
  for (const auto& c : resp.capabilities())
    constraints =
        constraints ||
        c.service().type() == csi::v1::PluginCapability::Service::VOLUME_ACCESSIBILITY_CONSTRAINTS;
  EXPECT_TRUE(constraints) << resp.DebugString();
}

TEST_F(SampleTopologyTest, VolumesLandWhereTheRequestedTopologyIs) {
  auto inR2 = createOk("pvc-r2", 4 * kMiB, {kR2}, {kR2});
  EXPECT_EQ(backendOf(inR2.volume_id()), "s-b");
  ASSERT_EQ(inR2.accessible_topology_size(), 1);
  EXPECT_EQ(segmentsOf(inR2.accessible_topology(0)), kR2);

  // WaitForFirstConsumer: the selected node's segment comes first among the preferred ones.
  auto inR1 = createOk("pvc-r1", 4 * kMiB, {kR1, kR2}, {kR2, kR1});
  EXPECT_EQ(backendOf(inR1.volume_id()), "s-a");
  ASSERT_EQ(inR1.accessible_topology_size(), 1);
  EXPECT_EQ(segmentsOf(inR1.accessible_topology(0)), kR1);

  // A node's other labels do not matter, only the backend's keys.
  auto withHost =
      createOk("pvc-host", 4 * kMiB, {}, {{{kRack, "r2"}, {"kubernetes.io/hostname", "node-7"}}});
  EXPECT_EQ(backendOf(withHost.volume_id()), "s-b");

  // The ids keep routing to their backend.
  EXPECT_TRUE(csi_->deleteVolume(inR2.volume_id()).ok());
  EXPECT_TRUE(csi_->deleteVolume(inR1.volume_id()).ok());
  EXPECT_TRUE(csi_->deleteVolume(withHost.volume_id()).ok());
  EXPECT_TRUE(listed().empty());
}

TEST_F(SampleTopologyTest, WithoutTopologyTheMostFreeBackendWinsAndTiesGoToTheFirstListed) {
  // s-a has 64 MiB, s-b 48 MiB: s-a, until it has less free than s-b.
  EXPECT_EQ(backendOf(createOk("v1", 24 * kMiB, {}, {}).volume_id()), "s-a");  // a: 40 free
  EXPECT_EQ(backendOf(createOk("v2", 8 * kMiB, {}, {}).volume_id()), "s-b");   // b: 40 free
  // Equal free space: the one listed first in `backends`.
  EXPECT_EQ(backendOf(createOk("v3", 4 * kMiB, {}, {}).volume_id()), "s-a");
  csi::v1::CreateVolumeResponse resp;
  auto s = create("v4", 4 * kMiB, {}, {}, &resp, {{"backends", "s-b,s-a"}});
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(backendOf(resp.volume().volume_id()), "s-b") << "36 free on a, 40 on b";
}

TEST_F(SampleTopologyTest, ABackendWithoutRoomIsSkippedAndNoRoomAnywhereIsResourceExhausted) {
  createOk("fill-a", 60 * kMiB, {kR1}, {kR1});
  // r1 is preferred, but s-a has 4 MiB left: the volume goes to the next requisite segment.
  auto v = createOk("big", 16 * kMiB, {kR1, kR2}, {kR1, kR2});
  EXPECT_EQ(backendOf(v.volume_id()), "s-b");
  // Requisite r1 alone: nowhere to go.
  csi::v1::CreateVolumeResponse resp;
  auto s = create("too-big-for-r1", 16 * kMiB, {kR1}, {kR1}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find(std::to_string(16 * kMiB) + " bytes free"), std::string::npos)
      << s.error_message();
  s = create("too-big", 100 * kMiB, {}, {}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
}

TEST_F(SampleTopologyTest, ATopologyNoBackendServesIsResourceExhausted) {
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-r3", 4 * kMiB, {kR3}, {kR3}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("no backend of this StorageClass is accessible from the "
                                   "requested topology"),
            std::string::npos)
      << s.error_message();
  // The single-backend form checks the same.
  s = create("pvc-r3-single", 4 * kMiB, {}, {kR2}, &resp, {{"backend", "s-a"}});
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // And keeps working as it did, with the backend's topology in the answer.
  s = create("pvc-single", 4 * kMiB, {}, {}, &resp, {{"backend", "s-a"}});
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.volume().volume_id().rfind("s-a:", 0), 0u);
  ASSERT_EQ(resp.volume().accessible_topology_size(), 1);
  // A backend without topology is reachable from everywhere: no accessible_topology.
  s = create("pvc-c", 4 * kMiB, {}, {kR3}, &resp, {{"backend", "s-c"}});
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.volume().accessible_topology_size(), 0);
}

TEST_F(SampleTopologyTest, ARetryLandsOnTheFirstAttemptsBackend) {
  auto first = createOk("pvc-retry", 8 * kMiB, {kR1}, {kR1, kR2});
  EXPECT_EQ(backendOf(first.volume_id()), "s-a");
  // The retry prefers r2 now (another node was selected); it must still find the volume on s-a
  // rather than make a second one on s-b.
  auto again = createOk("pvc-retry", 8 * kMiB, {kR2}, {kR2, kR1});
  EXPECT_EQ(again.volume_id(), first.volume_id());
  EXPECT_EQ(listed().size(), 1u);
}

TEST_F(SampleTopologyTest, GetCapacityPerSegmentAgreesWithListVolumes) {
  createOk("a1", 8 * kMiB, {kR1}, {kR1});
  createOk("a2", 12 * kMiB, {kR1}, {kR1});
  createOk("b1", 4 * kMiB, {kR2}, {kR2});
  std::map<Segments, int64_t> used;
  for (const auto& v : listed()) {
    if (v.accessible_topology_size() == 0) continue;
    used[segmentsOf(v.accessible_topology(0))] += v.capacity_bytes();
  }
  EXPECT_EQ(used[kR1], 20 * kMiB);
  EXPECT_EQ(used[kR2], 4 * kMiB);
  EXPECT_EQ(capacity(&kR1) + used[kR1], kCapacityA);
  EXPECT_EQ(capacity(&kR2) + used[kR2], kCapacityB);
  EXPECT_EQ(capacity(&kR3), 0) << "no backend of the class in r3";
  csi::v1::GetCapacityResponse whole;
  EXPECT_EQ(capacity(nullptr, &whole), kCapacityA + kCapacityB - 24 * kMiB);
  // No volume can be larger than the room on one backend.
  EXPECT_EQ(whole.maximum_volume_size().value(), kCapacityA - 20 * kMiB);
}

TEST_F(SampleTopologyTest, RefusesABadBackendsParameter) {
  csi::v1::CreateVolumeResponse resp;
  auto s = create("x", kMiB, {}, {}, &resp, {{"backends", "s-a,nope"}});
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("parameters.backends: unknown backend 'nope'"),
            std::string::npos)
      << s.error_message();
  s = create("x", kMiB, {}, {}, &resp, {{"backends", "s-a,s-a"}});
  EXPECT_NE(s.error_message().find("listed twice"), std::string::npos) << s.error_message();
  s = create("x", kMiB, {}, {}, &resp, {{"backends", "s-a,"}});
  EXPECT_NE(s.error_message().find("has an empty name"), std::string::npos) << s.error_message();
  s = create("x", kMiB, {}, {}, &resp, {{"backends", "s-a,s-b"}, {"backend", "s-a"}});
  EXPECT_NE(s.error_message().find("not both"), std::string::npos) << s.error_message();
}

// NodeGetInfo reports the segments of the backends a node's configuration lists; two values
// of one key are refused at start.
TEST(SampleNodeTopologyTest, NodeGetInfoReportsTheConfiguredSegments) {
  TempDir work;
  DriverProcess node(work.str(),
                     "backends:\n  - name: s-a\n    plugin: sample\n    topology: {" +
                         std::string(kRack) +
                         ": r1, topology.polycsi.io/site: dc1}\n"
                         "    settings:\n      directory: " +
                         work.str() +
                         "/a\n"
                         "  - name: s-c\n    plugin: sample\n    settings:\n      directory: " +
                         work.str() + "/c\n",
                     "node-a", {"--mode", "node"});
  node.start();
  csi::v1::NodeGetInfoResponse info;
  auto ctx = rpcContext();
  ASSERT_OK(node.node().NodeGetInfo(ctx.get(), {}, &info));
  EXPECT_EQ(segmentsOf(info.accessible_topology()),
            (Segments{{kRack, "r1"}, {"topology.polycsi.io/site", "dc1"}}));
  EXPECT_EQ(info.max_volumes_per_node(), 0) << "no plugin declares a limit";
  node.stop();

  TempDir work2;
  DriverProcess twoRacks(work2.str(),
                         "backends:\n  - name: s-a\n    plugin: sample\n    topology: {rack: r1}\n"
                         "    settings:\n      directory: " +
                             work2.str() +
                             "/a\n"
                             "  - name: s-b\n    plugin: sample\n    topology: {rack: r2}\n"
                             "    settings:\n      directory: " +
                             work2.str() + "/b\n",
                         "node-a", {"--mode", "node"});
  EXPECT_ANY_THROW(twoRacks.start());
  EXPECT_NE(twoRacks.log().find("put this node in two segments of rack"), std::string::npos)
      << twoRacks.log();
}

}  // namespace
}  // namespace polycsi::testing
