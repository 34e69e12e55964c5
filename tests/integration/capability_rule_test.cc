// The one capability rule (core/server/advertised_capabilities.hpp) through gRPC, with backends
// that differ: sample (lists, expands, capacity, volume condition), nfs (no expansion) and
// iscsi_powerstore (no listing, no capacity); all three report controller volume conditions. All
// three start without their storage: nfs and PowerStore connect per call, and no call here reaches
// them.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

using ControllerRpc = csi::v1::ControllerServiceCapability::RPC;
using NodeRpc = csi::v1::NodeServiceCapability::RPC;

// A PowerStore array that nothing answers for (port 9, discard): the plugin opens REST sessions
// lazily, so it starts; any call that reached it would fail, which the tests would notice.
const char* const kPowerStoreBackend =
    "  - name: powerstore\n    plugin: iscsi_powerstore\n    settings:\n"
    "      arrays:\n        - endpoint: \"https://127.0.0.1:9/api/rest\"\n"
    "          globalID: \"PS0000000000\"\n          username: csi\n          password: x\n"
    "          skipCertificateValidation: true\n          isDefault: true\n"
    "          blockProtocol: ISCSI\n";
const char* const kNfsBackend =
    "  - name: nfs\n    plugin: nfs\n    settings:\n      server: 127.0.0.1\n"
    "      share: /export\n";

std::string sampleBackend(const std::string& work) {
  return "  - name: local\n    plugin: sample\n    default: true\n    settings:\n"
         "      directory: " +
         work + "/volumes\n";
}

std::set<int> controllerCapabilities(DriverProcess& driver) {
  csi::v1::ControllerGetCapabilitiesResponse resp;
  auto ctx = rpcContext();
  auto s = driver.controller().ControllerGetCapabilities(
      ctx.get(), csi::v1::ControllerGetCapabilitiesRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::set<int> out;
  for (const auto& c : resp.capabilities()) out.insert(c.rpc().type());
  return out;
}

std::set<int> nodeCapabilities(DriverProcess& driver) {
  csi::v1::NodeGetCapabilitiesResponse resp;
  auto ctx = rpcContext();
  auto s =
      driver.node().NodeGetCapabilities(ctx.get(), csi::v1::NodeGetCapabilitiesRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::set<int> out;
  for (const auto& c : resp.capabilities()) out.insert(c.rpc().type());
  return out;
}

bool advertisesVolumeExpansion(DriverProcess& driver) {
  csi::v1::GetPluginCapabilitiesResponse resp;
  auto ctx = rpcContext();
  auto s = driver.identity().GetPluginCapabilities(ctx.get(),
                                                   csi::v1::GetPluginCapabilitiesRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  for (const auto& c : resp.capabilities())
    if (c.has_volume_expansion()) return true;
  return false;
}

class CapabilityRuleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new TempDir();
    driver_ = new DriverProcess(work_->str(), "backends:\n" + sampleBackend(work_->str()) +
                                                  kNfsBackend + kPowerStoreBackend);
    driver_->start();
  }
  static void TearDownTestSuite() {
    delete driver_;
    delete work_;
  }

  static TempDir* work_;
  static DriverProcess* driver_;
};
TempDir* CapabilityRuleTest::work_ = nullptr;
DriverProcess* CapabilityRuleTest::driver_ = nullptr;

TEST_F(CapabilityRuleTest, AdvertisesWhatAnyBackendHasExceptListing) {
  auto caps = controllerCapabilities(*driver_);
  // Only sample expands and reports capacity: a backend without them takes nothing away.
  EXPECT_TRUE(caps.count(ControllerRpc::EXPAND_VOLUME));
  EXPECT_TRUE(caps.count(ControllerRpc::GET_CAPACITY));
  EXPECT_TRUE(caps.count(ControllerRpc::CREATE_DELETE_SNAPSHOT));
  EXPECT_TRUE(caps.count(ControllerRpc::CLONE_VOLUME));
  // PowerStore cannot list, so a list would miss its volumes: never advertised.
  EXPECT_FALSE(caps.count(ControllerRpc::LIST_VOLUMES));
  EXPECT_FALSE(caps.count(ControllerRpc::LIST_VOLUMES_PUBLISHED_NODES));
  // Every backend reports controller volume conditions, so CSI's "MUST carry a condition"
  // holds for every volume (GET_VOLUME: the health monitor asks per volume without listing).
  EXPECT_TRUE(caps.count(ControllerRpc::VOLUME_CONDITION));
  EXPECT_TRUE(caps.count(ControllerRpc::GET_VOLUME));
  EXPECT_TRUE(advertisesVolumeExpansion(*driver_));
  auto node = nodeCapabilities(*driver_);
  EXPECT_TRUE(node.count(NodeRpc::EXPAND_VOLUME));
  EXPECT_TRUE(node.count(NodeRpc::VOLUME_CONDITION));
  EXPECT_TRUE(node.count(NodeRpc::GET_VOLUME_STATS));
  EXPECT_TRUE(node.count(NodeRpc::STAGE_UNSTAGE_VOLUME));
}

TEST_F(CapabilityRuleTest, ExpandingAVolumeOfABackendThatCannotNamesTheBackend) {
  csi::v1::ControllerExpandVolumeRequest req;
  req.set_volume_id("nfs:pvc-1");
  req.mutable_capacity_range()->set_required_bytes(2 * kMiB);
  csi::v1::ControllerExpandVolumeResponse resp;
  auto ctx = rpcContext();
  auto s = driver_->controller().ControllerExpandVolume(ctx.get(), req, &resp);
  // UNIMPLEMENTED: FAILED_PRECONDITION would tell external-resizer the volume is in use.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(),
            "ControllerExpandVolume: backend 'nfs' (plugin nfs) does not support expanding "
            "volumes; the capability is advertised because another configured backend has it");

  csi::v1::NodeExpandVolumeRequest nodeReq;
  nodeReq.set_volume_id("nfs:pvc-1");
  nodeReq.set_volume_path(work_->str() + "/target");
  csi::v1::NodeExpandVolumeResponse nodeResp;
  auto nodeCtx = rpcContext();
  auto n = driver_->node().NodeExpandVolume(nodeCtx.get(), nodeReq, &nodeResp);
  EXPECT_EQ(n.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(n.error_message().find("NodeExpandVolume: backend 'nfs' (plugin nfs)"),
            std::string::npos)
      << n.error_message();
}

TEST_F(CapabilityRuleTest, ABackendThatCanStillDoes) {
  CsiCalls calls(*driver_);
  csi::v1::CreateVolumeResponse created;
  auto s = calls.create("pvc-grow", kMiB, blockCapability(), &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  csi::v1::ControllerExpandVolumeRequest req;
  req.set_volume_id(created.volume().volume_id());
  req.mutable_capacity_range()->set_required_bytes(2 * kMiB);
  csi::v1::ControllerExpandVolumeResponse resp;
  auto ctx = rpcContext();
  auto e = driver_->controller().ControllerExpandVolume(ctx.get(), req, &resp);
  ASSERT_TRUE(e.ok()) << e.error_message();
  EXPECT_GE(resp.capacity_bytes(), 2 * kMiB);
  EXPECT_TRUE(calls.deleteVolume(created.volume().volume_id()).ok());
}

TEST_F(CapabilityRuleTest, CapacityAndListingNameTheBackendThatLacksThem) {
  csi::v1::GetCapacityRequest req;
  (*req.mutable_parameters())["backend"] = "powerstore";
  csi::v1::GetCapacityResponse resp;
  auto ctx = rpcContext();
  auto s = driver_->controller().GetCapacity(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s.error_message().find("GetCapacity: backend 'powerstore' (plugin iscsi_powerstore)"),
            std::string::npos)
      << s.error_message();

  csi::v1::ListVolumesResponse list;
  auto listCtx = rpcContext();
  auto l = driver_->controller().ListVolumes(listCtx.get(), csi::v1::ListVolumesRequest(), &list);
  EXPECT_EQ(l.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(l.error_message().find("ListVolumes: backend 'powerstore'"), std::string::npos)
      << l.error_message();
}

// With no backend that grows, nothing says expansion: not the controller, not the plugin, not
// the node (a node EXPAND_VOLUME alone would let external-resizer "grow" PVCs on paper).
TEST(CapabilityRuleNoExpansionTest, NothingAdvertisesExpansion) {
  TempDir work;
  DriverProcess driver(work.str(), std::string("backends:\n") + kNfsBackend);
  driver.start();
  EXPECT_FALSE(controllerCapabilities(driver).count(ControllerRpc::EXPAND_VOLUME));
  EXPECT_FALSE(advertisesVolumeExpansion(driver));
  auto node = nodeCapabilities(driver);
  EXPECT_FALSE(node.count(NodeRpc::EXPAND_VOLUME));
  // nfs checks its mount on the node (nfs_mount_health.hpp).
  EXPECT_TRUE(node.count(NodeRpc::VOLUME_CONDITION));
  EXPECT_TRUE(node.count(NodeRpc::GET_VOLUME_STATS));
  // nfs lists: alone, it makes the list complete.
  EXPECT_TRUE(controllerCapabilities(driver).count(ControllerRpc::LIST_VOLUMES_PUBLISHED_NODES));
}

// A plugin with none of the optional members (the plugin_host fixture "good"): every call that
// needs one names the backend, with the code CSI gives that RPC.
TEST(CapabilityRuleBareBackendTest, CallsThatNeedAnOptionalMemberNameTheBackend) {
  TempDir work;
  DriverProcess driver(work.str(),
                       "backends:\n  - name: bare\n    plugin: good\n    settings:\n"
                       "      address: here\n");
  driver.usePluginDir(POLYCSI_TEST_PLUGIN_DIR);
  driver.start();
  auto caps = controllerCapabilities(driver);
  for (auto absent : {ControllerRpc::CREATE_DELETE_SNAPSHOT, ControllerRpc::CLONE_VOLUME,
                      ControllerRpc::EXPAND_VOLUME, ControllerRpc::GET_CAPACITY,
                      ControllerRpc::LIST_VOLUMES, ControllerRpc::VOLUME_CONDITION})
    EXPECT_FALSE(caps.count(absent)) << ControllerRpc::Type_Name(absent);

  // CSI CreateVolume: a source the plugin cannot create from is INVALID_ARGUMENT.
  for (const bool fromSnapshot : {true, false}) {
    auto req = createRequest("pvc-from-source", kMiB, blockCapability());
    if (fromSnapshot)
      req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id("bare:snap-1");
    else
      req.mutable_volume_content_source()->mutable_volume()->set_volume_id("bare:vol-1");
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    auto s = driver.controller().CreateVolume(ctx.get(), req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_NE(s.error_message().find(
                  std::string("CreateVolume: backend 'bare' (plugin good) does "
                              "not support ") +
                  (fromSnapshot ? "creating a volume from a snapshot" : "cloning a volume")),
              std::string::npos)
        << s.error_message();
  }

  csi::v1::CreateSnapshotRequest snap;
  snap.set_name("snap-1");
  snap.set_source_volume_id("bare:vol-1");
  csi::v1::CreateSnapshotResponse snapResp;
  auto c1 = rpcContext();
  auto s1 = driver.controller().CreateSnapshot(c1.get(), snap, &snapResp);
  EXPECT_EQ(s1.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s1.error_message().find("CreateSnapshot: backend 'bare' (plugin good) does not "
                                    "support snapshots"),
            std::string::npos)
      << s1.error_message();

  csi::v1::DeleteSnapshotRequest del;
  del.set_snapshot_id("bare:snap-1");
  csi::v1::DeleteSnapshotResponse delResp;
  auto c2 = rpcContext();
  auto s2 = driver.controller().DeleteSnapshot(c2.get(), del, &delResp);
  EXPECT_EQ(s2.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s2.error_message().find("DeleteSnapshot: backend 'bare'"), std::string::npos)
      << s2.error_message();

  csi::v1::GetSnapshotRequest get;
  get.set_snapshot_id("bare:snap-1");
  csi::v1::GetSnapshotResponse getResp;
  auto c3 = rpcContext();
  auto s3 = driver.controller().GetSnapshot(c3.get(), get, &getResp);
  EXPECT_EQ(s3.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(s3.error_message().find("GetSnapshot: backend 'bare'"), std::string::npos)
      << s3.error_message();
}

}  // namespace
}  // namespace polycsi::testing
