// Two RDS boxes behind one StorageClass through polycsi's gRPC interface: a real `polycsi serve`
// (controller mode) with two rds_nvme backends in different topology segments, each talking
// real SSH to its own rds-sim on loopback. Volumes land on the box the requested topology names
// (checked on the simulated boxes themselves), a full box is skipped, a topology no box serves
// is RESOURCE_EXHAUSTED, and GetCapacity per segment agrees with ListVolumes and with the
// simulators' pools (docs/topology.md).
#include <gtest/gtest.h>

#include <map>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "rds_sim_driver_test.hpp"
#include "rds_sim_process.hpp"
#include "topology_requests.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr char kBasePath[] = "/storage-pool/kubernetes-volumes";
// Box B is small: a few volumes fill it.
constexpr int64_t kSmallPoolBytes = 4 * kGiB;

std::string slotOf(const std::string& id) { return id.substr(id.find(':') + 1); }
// sim_ (the fixture's, 100 GiB) is box A in rack r1; simB_ is box B in rack r2.
class RdsNvmeTopologyTest : public RdsSimDriverTest {
 protected:
  void SetUp() override {
    RdsSimDriverTest::SetUp();
    simB_ = std::make_unique<RdsSimProcess>(work_.str() + "/rds-b");
    simB_->setPoolCapacityBytes(kSmallPoolBytes);
    simB_->start();
    driver_ = std::make_unique<DriverProcess>(
        work_.str(), "backends:\n" + backend("rds-a", *sim_, "r1") + backend("rds-b", *simB_, "r2"),
        "controller-0", std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }
  void TearDown() override {
    if (simB_) {
      EXPECT_EQ(simB_->commandsTheReferenceDoesNotList(), std::vector<std::string>{});
      if (HasFailure()) std::cerr << "rds-sim B log:\n" << simB_->log();
    }
    RdsSimDriverTest::TearDown();
    simB_.reset();
  }

  static std::string backend(const std::string& name, const RdsSimProcess& sim,
                             const std::string& rack) {
    return "  - name: " + name + "\n    plugin: rds_nvme\n    topology:\n      " + kRack + ": " +
           rack +
           "\n    settings:\n"
           "      address: 127.0.0.1\n"
           "      port: " +
           std::to_string(sim.port()) + "\n      user: " + RdsSimProcess::kUser +
           "\n      private_key_file: " + sim.clientKeyFile() + "\n      host_key_fingerprint: \"" +
           sim.hostKeyFingerprint() + "\"\n      base_path: " + kBasePath +
           "\n      orphan_scan_interval_seconds: 0\n";
  }

  grpc::Status create(const std::string& name, int64_t bytes,
                      const std::vector<Segments>& preferred,
                      const std::vector<Segments>& requisite, csi::v1::CreateVolumeResponse* out) {
    auto req = createRequest(name, bytes, blockCapability(Mode::SINGLE_NODE_WRITER));
    (*req.mutable_parameters())["backends"] = "rds-a,rds-b";
    (*req.mutable_parameters())["migrationTimeoutSeconds"] = "300";
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
  int64_t capacityIn(const Segments& segment) {
    csi::v1::GetCapacityRequest req;
    *req.add_volume_capabilities() = blockCapability();
    (*req.mutable_parameters())["backends"] = "rds-a,rds-b";
    *req.mutable_accessible_topology() = topology(segment);
    csi::v1::GetCapacityResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().GetCapacity(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return resp.available_capacity();
  }

  std::unique_ptr<RdsSimProcess> simB_;
};

TEST_F(RdsNvmeTopologyTest, VolumesLandOnTheBoxTheRequestedTopologyNames) {
  auto onB = createOk("pvc-0a1b2c3d-0000-4000-8000-00000000000b", kGiB, {kR2}, {kR2});
  EXPECT_EQ(backendOf(onB.volume_id()), "rds-b");
  ASSERT_EQ(onB.accessible_topology_size(), 1);
  EXPECT_EQ(segmentsOf(onB.accessible_topology(0)), kR2);
  EXPECT_EQ(simB_->diskCount(slotOf(onB.volume_id())), 1);
  EXPECT_EQ(sim_->diskCount(slotOf(onB.volume_id())), 0);

  auto onA = createOk("pvc-0a1b2c3d-0000-4000-8000-00000000000a", kGiB, {kR1}, {kR1, kR2});
  EXPECT_EQ(backendOf(onA.volume_id()), "rds-a");
  EXPECT_EQ(segmentsOf(onA.accessible_topology(0)), kR1);
  EXPECT_EQ(sim_->diskCount(slotOf(onA.volume_id())), 1);
  EXPECT_EQ(simB_->diskCount(slotOf(onA.volume_id())), 0);

  // The provisioner's retry, now preferring the other rack, finds the first attempt's disk.
  auto retried = createOk("pvc-0a1b2c3d-0000-4000-8000-00000000000a", kGiB, {kR2}, {kR2, kR1});
  EXPECT_EQ(retried.volume_id(), onA.volume_id());
  EXPECT_EQ(simB_->diskCount(slotOf(onA.volume_id())), 0);

  // Each id keeps routing to its box.
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(onB.volume_id()).ok());
  EXPECT_EQ(simB_->diskCount(slotOf(onB.volume_id())), 0);
  EXPECT_TRUE(CsiCalls(*driver_).deleteVolume(onA.volume_id()).ok());
  EXPECT_EQ(sim_->diskCount(slotOf(onA.volume_id())), 0);
}

TEST_F(RdsNvmeTopologyTest, AFullBoxIsSkippedAndNoRoomIsResourceExhausted) {
  createOk("pvc-fill-b", 3 * kGiB, {kR2}, {kR2});  // box B: 1 GiB left
  // Rack r2 is preferred, but box B lacks 2 GiB: the volume goes to box A, also requisite.
  auto v = createOk("pvc-two", 2 * kGiB, {kR2, kR1}, {kR2, kR1});
  EXPECT_EQ(backendOf(v.volume_id()), "rds-a");
  EXPECT_EQ(sim_->diskCount(slotOf(v.volume_id())), 1);
  EXPECT_EQ(simB_->diskCount(slotOf(v.volume_id())), 0);

  // Only r2 allowed, and box B is too full: RESOURCE_EXHAUSTED, nothing created anywhere.
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-no-room", 2 * kGiB, {kR2}, {kR2}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_EQ(simB_->diskCount("pvc-no-room"), 0);
  EXPECT_EQ(sim_->diskCount("pvc-no-room"), 0);
}

TEST_F(RdsNvmeTopologyTest, ATopologyNoBoxServesIsResourceExhausted) {
  csi::v1::CreateVolumeResponse resp;
  auto s = create("pvc-r3", kGiB, {{{kRack, "r3"}}}, {{{kRack, "r3"}}}, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("rds-a {" + std::string(kRack) + "=r1}"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(sim_->diskCount("pvc-r3"), 0);
  EXPECT_EQ(simB_->diskCount("pvc-r3"), 0);
}

TEST_F(RdsNvmeTopologyTest, ListVolumesAndGetCapacityAgreeWithTheBoxes) {
  createOk("pvc-a1", 2 * kGiB, {kR1}, {kR1});
  createOk("pvc-a2", kGiB + kMiB, {kR1}, {kR1});
  createOk("pvc-b1", kGiB, {kR2}, {kR2});
  csi::v1::ListVolumesResponse list;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().ListVolumes(ctx.get(), {}, &list));
  std::map<Segments, int64_t> used;
  for (const auto& e : list.entries()) {
    ASSERT_EQ(e.volume().accessible_topology_size(), 1) << e.DebugString();
    used[segmentsOf(e.volume().accessible_topology(0))] += e.volume().capacity_bytes();
  }
  EXPECT_EQ(list.entries_size(), 3);
  EXPECT_EQ(used[kR1], 3 * kGiB + kMiB);
  EXPECT_EQ(used[kR2], kGiB);
  // Free per segment plus what its volumes use is each simulated pool's capacity.
  EXPECT_EQ(capacityIn(kR1) + used[kR1], RdsSimProcess::kPoolCapacityBytes);
  EXPECT_EQ(capacityIn(kR2) + used[kR2], kSmallPoolBytes);
  EXPECT_EQ(capacityIn({{kRack, "r3"}}), 0);
}

}  // namespace
}  // namespace polycsi::testing
