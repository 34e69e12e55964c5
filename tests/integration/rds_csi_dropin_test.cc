// polycsi as a drop-in for 3whiskeywhiskey/rds-csi (docs/migrating-from-rds-csi.md): volumes
// are made on a real rds-sim exactly as that driver makes them (its RouterOS commands, sent
// over SSH as its client sends them), then a real `polycsi serve` configured with that driver's
// name and `adopt_rds_csi_volumes: true` serves them through CSI gRPC with that driver's
// volume handles and volume contexts. What happened is checked on the simulated RDS itself.
//
// Facts from github.com/3whiskeywhiskey/rds-csi at 97597243f9a0087965fe22dd3c5a22db72988562:
//   pkg/rds/commands.go       CreateVolume: `/disk add type=file file-path=<p> file-size=<n>G
//                             slot=<id> nvme-tcp-export=yes nvme-tcp-server-port=<port>
//                             nvme-tcp-server-nqn=<nqn>`
//   pkg/utils/volumeid.go     id pvc-<uuid> = slot; file <volumePath>/<id>.img; NQN
//                             nqn.2000-02.com.mikrotik:<id>
//   pkg/driver/controller.go  the volume context below; default volumePath /storage-pool/metal-csi
//   pkg/driver/driver.go      driver name rds.csi.srvlab.io
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "rds_sim_driver_test.hpp"
#include "rds_sim_process.hpp"

namespace polycsi::testing {
namespace {

namespace fs = std::filesystem;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr char kDriverName[] = "rds.csi.srvlab.io";
constexpr char kBasePath[] = "/storage-pool/metal-csi";
constexpr char kNqnPrefix[] = "nqn.2000-02.com.mikrotik:";
constexpr char kNodeNqn[] = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001";
constexpr char kFencedNoHost[] = "nqn.2014-08.io.polycsi:fenced-no-host";
constexpr char kVmDisk[] = "pvc-3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
constexpr char kDataDisk[] = "pvc-7c6b5a49-3827-4160-9f8e-7d6c5b4a3928";

// The driver serves rds-csi's volumes with the commands docs/fidelity.md lists, no others
// (RdsSimDriverTest checks that after each test).
class RdsCsiDropInTest : public RdsSimDriverTest {
 protected:
  // What rds-csi's CreateVolume sends for PV `id` of `sizeText` ("1G": its formatBytes), and
  // checks that RouterOS took it.
  void createAsRdsCsi(const std::string& id, const std::string& sizeText) {
    SimReply reply = sim_->run("/disk add type=file file-path=" + std::string(kBasePath) + "/" +
                               id + ".img file-size=" + sizeText + " slot=" + id +
                               " nvme-tcp-export=yes nvme-tcp-server-port=4420 "
                               "nvme-tcp-server-nqn=" +
                               kNqnPrefix + id);
    ASSERT_EQ(reply.exitStatus, 0) << reply.output;
    ASSERT_EQ(sim_->diskCount(id), 1);
  }
  // The PV's volume context as rds-csi's CreateVolume returned it (StorageClass with
  // nvmeAddress, nvmePort and volumePath set, the rest defaulted).
  std::map<std::string, std::string> rdsCsiContext(const std::string& id) const {
    return {{"rdsAddress", "127.0.0.1"},
            {"nvmeAddress", "127.0.0.1"},
            {"nvmePort", "4420"},
            {"nqn", kNqnPrefix + id},
            {"volumePath", std::string(kBasePath) + "/" + id + ".img"},
            {"ctrlLossTmo", "-1"},
            {"reconnectDelay", "5"},
            {"keepAliveTmo", "0"},
            {"migrationTimeoutSeconds", "300"}};
  }
  // The file of a disk in the simulator's state directory.
  fs::path imageFile(const std::string& id) const {
    return fs::path(sim_->stateDir()) / "storage-pool" / "metal-csi" / (id + ".img");
  }

  void startDriver(bool adopt) {
    std::string backend =
        "backends:\n"
        "  - name: rds\n"
        "    plugin: rds_nvme\n"
        "    default: true\n" +
        std::string(adopt ? "    adopt_rds_csi_volumes: true\n" : "") +
        "    settings:\n"
        "      address: 127.0.0.1\n"
        "      port: " +
        std::to_string(sim_->port()) + "\n" + "      user: " + RdsSimProcess::kUser + "\n" +
        "      private_key_file: " + sim_->clientKeyFile() + "\n" +
        "      host_key_fingerprint: \"" + sim_->hostKeyFingerprint() + "\"\n" +
        "      base_path: " + kBasePath + "\n" + "      orphan_scan_interval_seconds: 0\n";
    driver_ = std::make_unique<DriverProcess>(
        work_.str(), "driver_name: " + std::string(kDriverName) + "\n" + backend, "controller-0",
        std::vector<std::string>{"--mode", "controller"});
    driver_->start();
  }

  grpc::Status publish(const std::string& id, const std::string& node,
                       csi::v1::ControllerPublishVolumeResponse* out = nullptr) {
    csi::v1::ControllerPublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_node_id(node);
    *req.mutable_volume_capability() = blockCapability(Mode::SINGLE_NODE_WRITER);
    for (const auto& [k, v] : rdsCsiContext(id)) (*req.mutable_volume_context())[k] = v;
    csi::v1::ControllerPublishVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().ControllerPublishVolume(ctx.get(), req, &resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status unpublish(const std::string& id, const std::string& node) {
    csi::v1::ControllerUnpublishVolumeRequest req;
    req.set_volume_id(id);
    req.set_node_id(node);
    csi::v1::ControllerUnpublishVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->controller().ControllerUnpublishVolume(ctx.get(), req, &resp);
  }
  grpc::Status expand(const std::string& id, int64_t bytes,
                      csi::v1::ControllerExpandVolumeResponse* out) {
    csi::v1::ControllerExpandVolumeRequest req;
    req.set_volume_id(id);
    req.mutable_capacity_range()->set_required_bytes(bytes);
    *req.mutable_volume_capability() = blockCapability();
    auto ctx = rpcContext();
    return driver_->controller().ControllerExpandVolume(ctx.get(), req, out);
  }
  grpc::Status deleteVolume(const std::string& id) { return CsiCalls(*driver_).deleteVolume(id); }
  grpc::Status getVolume(const std::string& id, csi::v1::ControllerGetVolumeResponse* out) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(id);
    auto ctx = rpcContext();
    return driver_->controller().ControllerGetVolume(ctx.get(), req, out);
  }
  std::string nodeId() const { return std::string("node-a|rds_nvme=") + kNodeNqn; }
};

TEST_F(RdsCsiDropInTest, ServesTheVolumesRdsCsiMadeUnderItsNameAndHandles) {
  createAsRdsCsi(kVmDisk, "1G");
  createAsRdsCsi(kDataDisk, "2G");
  startDriver(/*adopt=*/true);

  csi::v1::GetPluginInfoResponse info;
  auto infoCtx = rpcContext();
  ASSERT_OK(driver_->identity().GetPluginInfo(infoCtx.get(), {}, &info));
  EXPECT_EQ(info.name(), kDriverName);

  // The handle is the PV name, as rds-csi made it: found, listed and described as such.
  csi::v1::ControllerGetVolumeResponse got;
  ASSERT_OK(getVolume(kVmDisk, &got));
  EXPECT_EQ(got.volume().volume_id(), kVmDisk);
  EXPECT_EQ(got.volume().capacity_bytes(), kGiB);
  EXPECT_EQ(got.volume().volume_context().at("nqn"), kNqnPrefix + std::string(kVmDisk));
  csi::v1::ListVolumesResponse listed;
  auto listCtx = rpcContext();
  ASSERT_OK(driver_->controller().ListVolumes(listCtx.get(), {}, &listed));
  std::map<std::string, int64_t> sizes;
  for (const auto& e : listed.entries())
    sizes[e.volume().volume_id()] = e.volume().capacity_bytes();
  EXPECT_EQ(sizes, (std::map<std::string, int64_t>{{kVmDisk, kGiB}, {kDataDisk, 2 * kGiB}}));

  // ControllerPublish with the PV's volume context: the node's host NQN is allowed on the
  // export rds-csi left open, and the node learns that driver's NQN, address and port.
  csi::v1::ControllerPublishVolumeResponse published;
  ASSERT_OK(publish(kVmDisk, nodeId(), &published));
  EXPECT_EQ(published.publish_context().at("nqn"), kNqnPrefix + std::string(kVmDisk));
  EXPECT_EQ(published.publish_context().at("nvmeAddress"), "127.0.0.1");
  EXPECT_EQ(published.publish_context().at("nvmePort"), "4420");
  EXPECT_EQ(detailValue(sim_->diskDetail(kVmDisk), "nvme-tcp-server-allow-host-name"), kNodeNqn);
  ASSERT_OK(publish(kVmDisk, nodeId()));  // again: idempotent
  ASSERT_OK(getVolume(kVmDisk, &got));
  ASSERT_EQ(got.status().published_node_ids_size(), 1);
  EXPECT_EQ(got.status().published_node_ids(0), nodeId());

  // Expand grows the file rds-csi made, with the handle it made.
  csi::v1::ControllerExpandVolumeResponse grown;
  ASSERT_OK(expand(kVmDisk, 3 * kGiB, &grown));
  EXPECT_EQ(grown.capacity_bytes(), 3 * kGiB);
  EXPECT_EQ(detailValue(sim_->diskDetail(kVmDisk), "file-size"), "3072.0MiB");

  // Deleting while published is refused; after unpublish the export closes again and the
  // disk and its file go.
  EXPECT_EQ(deleteVolume(kVmDisk).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(sim_->diskCount(kVmDisk), 1);
  ASSERT_OK(unpublish(kVmDisk, nodeId()));
  EXPECT_EQ(detailValue(sim_->diskDetail(kVmDisk), "nvme-tcp-server-allow-host-name"),
            kFencedNoHost);
  ASSERT_TRUE(fs::exists(imageFile(kVmDisk)));
  ASSERT_OK(deleteVolume(kVmDisk));
  EXPECT_EQ(sim_->diskCount(kVmDisk), 0);
  EXPECT_FALSE(fs::exists(imageFile(kVmDisk)));
  ASSERT_OK(deleteVolume(kVmDisk));  // gone is deleted (CSI)
  EXPECT_EQ(sim_->diskCount(kDataDisk), 1) << "the other volume is untouched";
  EXPECT_TRUE(fs::exists(imageFile(kDataDisk)));
}

TEST_F(RdsCsiDropInTest, NewVolumesFromItsStorageClassAreMadeAsItWouldMakeThem) {
  startDriver(/*adopt=*/true);
  // rds-csi's Helm chart StorageClass (deploy/helm/rds-csi-driver/templates/storageclass.yaml).
  const std::string name = "pvc-0d1e2f30-4152-4637-8899-aabbccddeeff";
  auto req = createRequest(name, kGiB, mountCapability());
  (*req.mutable_parameters())["nvmeAddress"] = "127.0.0.1";
  (*req.mutable_parameters())["nvmePort"] = "4420";
  (*req.mutable_parameters())["volumePath"] = kBasePath;
  csi::v1::CreateVolumeResponse created;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().CreateVolume(ctx.get(), req, &created));
  // The handle rds-csi would have returned, so a rollback to it keeps this volume too.
  EXPECT_EQ(created.volume().volume_id(), name);
  EXPECT_EQ(created.volume().volume_context().at("nqn"), kNqnPrefix + name);
  EXPECT_EQ(created.volume().volume_context().at("nvmeAddress"), "127.0.0.1");
  EXPECT_EQ(created.volume().volume_context().at("nvmePort"), "4420");
  std::string detail = sim_->diskDetail(name);
  EXPECT_EQ(detailValue(detail, "file-path"), std::string(kBasePath) + "/" + name + ".img")
      << detail;
  EXPECT_EQ(detailValue(detail, "nvme-tcp-server-nqn"), kNqnPrefix + name);
  EXPECT_EQ(detailValue(detail, "nvme-tcp-server-port"), "4420");
  EXPECT_EQ(detailValue(detail, "nvme-tcp-export"), "yes");

  // Its per-volume connect tuning keeps its meaning: carried to the node in the volume
  // context under the same keys, as rds-csi carries it.
  auto tuned = createRequest("pvc-11111111-2222-4333-8444-555555555555", kGiB, mountCapability());
  (*tuned.mutable_parameters())["ctrlLossTmo"] = "-1";
  (*tuned.mutable_parameters())["reconnectDelay"] = "5";
  (*tuned.mutable_parameters())["keepAliveTmo"] = "0";
  csi::v1::CreateVolumeResponse made;
  auto ctx2 = rpcContext();
  ASSERT_OK(driver_->controller().CreateVolume(ctx2.get(), tuned, &made));
  EXPECT_EQ(made.volume().volume_context().at("ctrlLossTmo"), "-1");
  EXPECT_EQ(made.volume().volume_context().at("reconnectDelay"), "5");
  EXPECT_EQ(made.volume().volume_context().at("keepAliveTmo"), "0");
  EXPECT_EQ(sim_->diskCount("pvc-11111111-2222-4333-8444-555555555555"), 1);
}

TEST_F(RdsCsiDropInTest, WithoutAdoptionItsHandlesAreRefusedNeverDeleted) {
  createAsRdsCsi(kVmDisk, "1G");
  startDriver(/*adopt=*/false);
  // The PV still holds data: a delete must not report success and drop it.
  grpc::Status del = deleteVolume(kVmDisk);
  EXPECT_EQ(del.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(del.error_message().find("adopt_rds_csi_volumes: true"), std::string::npos)
      << del.error_message();
  EXPECT_EQ(publish(kVmDisk, nodeId()).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(sim_->diskCount(kVmDisk), 1);
  EXPECT_EQ(detailValue(sim_->diskDetail(kVmDisk), "nvme-tcp-server-allow-host-name"), "");
}

TEST_F(RdsCsiDropInTest, AmbiguousIdsAndItsSnapshotsAreNotActedOn) {
  // Disks that rds-csi's sanity-test ids, or a malformed handle, could name.
  const std::string upper = "pvc-3F2A1B0C-9D8E-4F7A-8B6C-5D4E3F2A1B0C";
  for (const std::string& slot : {std::string("sanity-volume-1"), upper}) {
    SimReply reply = sim_->run("/disk add type=file file-path=" + std::string(kBasePath) + "/" +
                               slot + ".img file-size=1G slot=" + slot);
    ASSERT_EQ(reply.exitStatus, 0) << reply.output;
  }
  const std::string snapshot = "snap-3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c-at-18f2a9c1b";
  SimReply snap = sim_->run("/disk add type=file file-path=" + std::string(kBasePath) + "/" +
                            snapshot + ".img file-size=1G slot=" + snapshot);
  ASSERT_EQ(snap.exitStatus, 0) << snap.output;
  startDriver(/*adopt=*/true);

  for (const std::string& id : {std::string("sanity-volume-1"), upper}) {
    grpc::Status s = deleteVolume(id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << id;
    EXPECT_NE(s.error_message().find("not clearly rds-csi's"), std::string::npos)
        << s.error_message();
    EXPECT_EQ(sim_->diskCount(id), 1) << id;
  }
  csi::v1::DeleteSnapshotRequest req;
  req.set_snapshot_id(snapshot);
  csi::v1::DeleteSnapshotResponse resp;
  auto ctx = rpcContext();
  grpc::Status s = driver_->controller().DeleteSnapshot(ctx.get(), req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(s.error_message().find("not carried over"), std::string::npos) << s.error_message();
  EXPECT_EQ(sim_->diskCount(snapshot), 1);
  // An id no driver could have issued is simply not found (CSI: deleted already).
  ASSERT_OK(deleteVolume("not/an:id"));
}

}  // namespace
}  // namespace polycsi::testing
