// The rds_nvme plugin's controller half through polycsi's gRPC interface: a real `polycsi serve`
// (controller mode) talks real SSH to a real rds-sim on loopback. Every controller operation,
// the StorageClass parameters of the documented rds example, fencing with host NQNs during a
// KubeVirt migration, host-key pinning, a simulator restart, a hung command and a lost reply. What
// the plugin did is checked on the simulated RDS itself (`/disk print detail` over SSH, files in
// its state directory), not only in the answers.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "csi_calls.hpp"  // ASSERT_OK
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "group_snapshot_calls.hpp"
#include "rds_sim_driver_test.hpp"
#include "rds_sim_process.hpp"
#include "sidecar_metadata.hpp"

namespace polycsi::testing {
namespace {

namespace fs = std::filesystem;
using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr int64_t kGiB = int64_t{1} << 30;
constexpr char kBasePath[] = "/storage-pool/kubernetes-volumes";
constexpr char kNqnA[] = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001";
constexpr char kNqnB[] = "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-2222-4222-8222-000000000002";
constexpr char kNqnC[] = "nqn.2014-08.org.nvmexpress:uuid:cccccccc-3333-4333-8333-000000000003";
constexpr char kPlaceholder[] = "nqn.2014-08.io.polycsi:fenced-no-host";

// The node id a node plugin reports: the node name and its NVMe host NQN for rds_nvme.
std::string nodeId(const std::string& name, const std::string& nqn) {
  return name + "|rds_nvme=" + nqn;
}

// The RDS slot of a polycsi volume or snapshot id ("rds:<slot>").
std::string slotOf(const std::string& id) { return id.substr(id.find(':') + 1); }

// The `.img` files anywhere under `dir`.
std::vector<std::string> imageFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().extension() == ".img") out.push_back(entry.path().string());
  return out;
}

// The image file of a disk the simulated RDS holds under the base path.
std::string imageOf(const RdsSimProcess& sim, const std::string& slot) {
  return sim.stateDir() + kBasePath + "/" + slot + ".img";
}

// Writes `text` at the start of an image file, keeping its size (what a guest writes over
// NVMe/TCP lands there; the kernel initiator runs only in the VM lab).
void writeImage(const std::string& path, const std::string& text) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.write(text.data(), static_cast<std::streamsize>(text.size()));
}

// The first `length` bytes of an image file.
std::string readImage(const std::string& path, size_t length) {
  std::ifstream f(path, std::ios::binary);
  std::string out(length, '\0');
  f.read(out.data(), static_cast<std::streamsize>(length));
  return f ? out : "<unreadable " + path + ">";
}

// Every command the driver sent is one docs/fidelity.md lists with its public source
// (RdsSimDriverTest checks that after each test).
class RdsNvmeGrpcTest : public RdsSimDriverTest {
 protected:
  // The backend's settings as an operator writes them: key login, the pinned host key.
  std::string settings(const std::string& fingerprint, const std::string& extra = "") const {
    return "      address: 127.0.0.1\n"
           "      port: " +
           std::to_string(sim_->port()) +
           "\n"
           "      user: " +
           std::string(RdsSimProcess::kUser) +
           "\n"
           "      private_key_file: " +
           sim_->clientKeyFile() +
           "\n"
           "      host_key_fingerprint: \"" +
           fingerprint +
           "\"\n"
           "      base_path: " +
           kBasePath +
           "\n"
           "      orphan_scan_interval_seconds: 0\n"
           "      keepalive_interval_seconds: 5\n" +
           extra;
  }
  void startDriver(const std::string& backendSettings, const std::string& backendName = "rds") {
    metricsPort_ = freeLoopbackPort();
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n  - name: " + backendName +
            "\n    plugin: rds_nvme\n    default: true\n    settings:\n" + backendSettings,
        "controller-0",
        std::vector<std::string>{"--mode", "controller", "--metrics-address",
                                 "127.0.0.1:" + std::to_string(metricsPort_)});
    driver_->start();
  }
  void startDriver() { startDriver(settings(sim_->hostKeyFingerprint())); }

  // The StorageClass parameters of deploy/'s rds example, pointing at this simulator.
  std::map<std::string, std::string> seedParameters() const {
    return {{"rdsAddress", "127.0.0.1"},
            {"rdsPort", std::to_string(sim_->port())},
            {"rdsBasePath", kBasePath},
            {"nvmePort", "4420"}};
  }

  grpc::Status create(const csi::v1::CreateVolumeRequest& req, csi::v1::CreateVolumeResponse* out) {
    auto ctx = rpcContext();
    return driver_->controller().CreateVolume(ctx.get(), req, out);
  }
  csi::v1::Volume createOk(const std::string& name, int64_t bytes,
                           const csi::v1::VolumeCapability& cap,
                           const std::map<std::string, std::string>& parameters = {}) {
    auto req = createRequest(name, bytes, cap);
    addProvisionerMetadata(req, name);  // as the external-provisioner sends it
    for (const auto& [k, v] : parameters) (*req.mutable_parameters())[k] = v;
    csi::v1::CreateVolumeResponse resp;
    grpc::Status s = create(req, &resp);
    EXPECT_TRUE(s.ok()) << name << ": " << s.error_code() << " " << s.error_message();
    return resp.volume();
  }
  grpc::Status deleteVolume(const std::string& id) { return CsiCalls(*driver_).deleteVolume(id); }
  grpc::Status publish(const csi::v1::Volume& v, const std::string& node,
                       AccessModeEnum mode = Mode::MULTI_NODE_MULTI_WRITER,
                       csi::v1::ControllerPublishVolumeResponse* out = nullptr) {
    return CsiCalls(*driver_).controllerPublish(v.volume_id(), node, blockCapability(mode),
                                                contextOf(v), out);
  }
  grpc::Status unpublish(const csi::v1::Volume& v, const std::string& node) {
    return CsiCalls(*driver_).controllerUnpublish(v.volume_id(), node);
  }
  grpc::Status capacity(csi::v1::GetCapacityResponse* out) {
    csi::v1::GetCapacityRequest req;
    *req.add_volume_capabilities() = blockCapability();
    auto ctx = rpcContext();
    return driver_->controller().GetCapacity(ctx.get(), req, out);
  }
  // The disk's allow-list as the simulated RDS holds it, sorted.
  std::vector<std::string> allowedHosts(const std::string& slot) {
    std::string list = detailValue(sim_->diskDetail(slot), "nvme-tcp-server-allow-host-name");
    std::vector<std::string> out;
    for (size_t start = 0; start <= list.size() && !list.empty();) {
      size_t comma = list.find(',', start);
      out.push_back(list.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string metrics() {
    httplib::Client client("127.0.0.1", metricsPort_);
    client.set_connection_timeout(5);
    auto res = client.Get("/metrics");
    EXPECT_TRUE(res) << "metrics endpoint on port " << metricsPort_ << " unreachable";
    return res ? res->body : "";
  }

  // ControllerGetVolume's condition of `id`.
  csi::v1::VolumeCondition condition(const std::string& id) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(id);
    csi::v1::ControllerGetVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = driver_->controller().ControllerGetVolume(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_TRUE(resp.status().has_volume_condition());
    return resp.status().volume_condition();
  }
  // One RouterOS command over the simulator's own SSH login, as an operator would type it.
  void onTheRds(const std::string& command) {
    SimReply reply = sim_->run(command);
    ASSERT_EQ(reply.exitStatus, 0) << command << ": " << reply.output;
  }

  int metricsPort_ = 0;
};

TEST_F(RdsNvmeGrpcTest, CreatesVolumesWithTheSeedParametersIdempotently) {
  startDriver();
  const std::string rwoName = "pvc-0a1b2c3d-1111-4222-8333-444455556666";
  auto rwo =
      createOk(rwoName, kGiB + 1, blockCapability(Mode::SINGLE_NODE_WRITER), seedParameters());
  EXPECT_EQ(rwo.volume_id(), "rds:" + rwoName);
  EXPECT_EQ(rwo.capacity_bytes(), kGiB + kMiB) << "sizes round up to whole MiB";
  EXPECT_EQ(rwo.volume_context().at("nqn"), "nqn.2000-02.com.mikrotik:" + rwoName);
  EXPECT_EQ(rwo.volume_context().at("nvmeAddress"), "127.0.0.1");
  EXPECT_EQ(rwo.volume_context().at("nvmePort"), "4420");
  // The simulated RDS holds the disk those parameters describe.
  std::string detail = sim_->diskDetail(rwoName);
  EXPECT_EQ(slotOf(rwo.volume_id()), detailValue(detail, "slot")) << detail;
  EXPECT_EQ(detailValue(detail, "file-path"), std::string(kBasePath) + "/" + rwoName + ".img")
      << detail;
  EXPECT_EQ(detailValue(detail, "file-size"), "1025.0MiB") << detail;
  EXPECT_EQ(detailValue(detail, "nvme-tcp-server-port"), "4420") << detail;
  EXPECT_EQ(allowedHosts(rwoName), std::vector<std::string>{kPlaceholder})
      << "a new export is closed to every host until a node is published";
  EXPECT_TRUE(
      fs::exists(sim_->stateDir() + "/storage-pool/kubernetes-volumes/" + rwoName + ".img"));

  // The provisioner's retry finds the same disk; an incompatible size is ALREADY_EXISTS.
  auto again =
      createOk(rwoName, kGiB + 1, blockCapability(Mode::SINGLE_NODE_WRITER), seedParameters());
  EXPECT_EQ(again.volume_id(), rwo.volume_id());
  EXPECT_EQ(sim_->diskCount(rwoName), 1);
  auto bigger = createRequest(rwoName, 4 * kGiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  csi::v1::CreateVolumeResponse ignored;
  grpc::Status conflict = create(bigger, &ignored);
  EXPECT_EQ(conflict.error_code(), StatusCode::ALREADY_EXISTS) << conflict.error_message();
  EXPECT_NE(conflict.error_message().find("less than the " + std::to_string(4 * kGiB)),
            std::string::npos)
      << conflict.error_message();

  // RWX block for a KubeVirt VM disk, with the migration window and the second example class
  // (volumePath alias, nvmeAddress, another NVMe port).
  auto rwx = createOk("vm-disk-1", 2 * kGiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                      {{"migrationTimeoutSeconds", "300"},
                       {"rdsAddress", "127.0.0.1"},
                       {"volumePath", "/storage-pool/metal-csi"},
                       {"nvmeAddress", "127.0.0.2"},
                       {"nvmePort", "4430"}});
  const std::string rwxSlot = slotOf(rwx.volume_id());
  EXPECT_EQ(rwxSlot.rfind("pvc-h", 0), 0u) << "other names become a hashed slot: " << rwxSlot;
  EXPECT_EQ(rwx.volume_context().at("nvmeAddress"), "127.0.0.2");
  EXPECT_EQ(rwx.volume_context().at("nvmePort"), "4430");
  std::string rwxDetail = sim_->diskDetail(rwxSlot);
  EXPECT_EQ(detailValue(rwxDetail, "file-path"), "/storage-pool/metal-csi/" + rwxSlot + ".img")
      << rwxDetail;
  EXPECT_EQ(detailValue(rwxDetail, "nvme-tcp-server-port"), "4430") << rwxDetail;

  // A filesystem volume with the provisioner's fstype parameter.
  auto fsVolume = createOk("pvc-fs", kGiB, mountCapability(Mode::SINGLE_NODE_WRITER, "ext4"),
                           {{"csi.storage.k8s.io/fstype", "ext4"}, {"rdsBasePath", kBasePath}});
  EXPECT_EQ(sim_->diskCount(slotOf(fsVolume.volume_id())), 1);

  // RWX with a filesystem is refused before anything reaches the RDS, with the plugin's reason.
  auto rwxFs = createRequest("pvc-rwx-fs", kGiB, mountCapability(Mode::MULTI_NODE_MULTI_WRITER));
  grpc::Status refused = create(rwxFs, &ignored);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find(
                "would mount one ext4/xfs from several nodes at once and corrupt it"),
            std::string::npos)
      << refused.error_message();
  // A class pointing at another RDS, or a parameter no one understands, is refused too.
  auto otherRds = createRequest("pvc-other", kGiB, blockCapability());
  (*otherRds.mutable_parameters())["rdsAddress"] = "10.42.68.1";
  grpc::Status other = create(otherRds, &ignored);
  EXPECT_EQ(other.error_code(), StatusCode::INVALID_ARGUMENT) << other.error_message();
  auto unknown = createRequest("pvc-unknown", kGiB, blockCapability());
  (*unknown.mutable_parameters())["arrayID"] = "PS03455f439da7";
  EXPECT_EQ(create(unknown, &ignored).error_code(), StatusCode::INVALID_ARGUMENT);
  for (const char* slot : {"pvc-rwx-fs", "pvc-other", "pvc-unknown"})
    EXPECT_EQ(sim_->diskCount(slot), 0) << slot;

  // ControllerGetVolume and ValidateVolumeCapabilities read the RDS too.
  csi::v1::ControllerGetVolumeRequest get;
  get.set_volume_id(rwx.volume_id());
  csi::v1::ControllerGetVolumeResponse got;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().ControllerGetVolume(ctx.get(), get, &got));
  EXPECT_EQ(got.volume().capacity_bytes(), 2 * kGiB);
  csi::v1::ValidateVolumeCapabilitiesRequest validate;
  validate.set_volume_id(rwx.volume_id());
  *validate.add_volume_capabilities() = blockCapability(Mode::MULTI_NODE_MULTI_WRITER);
  csi::v1::ValidateVolumeCapabilitiesResponse validated;
  auto vctx = rpcContext();
  ASSERT_OK(driver_->controller().ValidateVolumeCapabilities(vctx.get(), validate, &validated));
  EXPECT_TRUE(validated.has_confirmed()) << validated.message();
}

// RouterOS /disk has no setting this plugin could change on a live disk besides its size
// (expansion) and its allow-list (fencing): rds_nvme declares no mutable parameter, so a
// VolumeAttributesClass may change only the core's migrationTimeoutSeconds, and anything else
// is refused naming the parameter and the backend; nothing reaches the RDS.
TEST_F(RdsNvmeGrpcTest, ModifyChangesOnlyTheMigrationWindow) {
  startDriver();
  auto volume = createOk("pvc-modify", kGiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                         seedParameters());
  auto modify = [&](const std::string& key, const std::string& value) {
    csi::v1::ControllerModifyVolumeRequest req;
    req.set_volume_id(volume.volume_id());
    (*req.mutable_mutable_parameters())[key] = value;
    csi::v1::ControllerModifyVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->controller().ControllerModifyVolume(ctx.get(), req, &resp);
  };
  ASSERT_OK(modify("migrationTimeoutSeconds", "900"));
  const std::string before = sim_->diskDetail(slotOf(volume.volume_id()));
  auto refused = modify("nvmePort", "4421");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(),
            "mutable_parameters.nvmePort: backend 'rds' (plugin rds_nvme) cannot change this "
            "parameter on a live volume (mutable parameters: migrationTimeoutSeconds)");
  auto compress = modify("compress", "yes");
  EXPECT_EQ(compress.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(compress.error_message().find("mutable_parameters.compress: backend 'rds'"),
            std::string::npos)
      << compress.error_message();
  EXPECT_EQ(sim_->diskDetail(slotOf(volume.volume_id())), before);
}

TEST_F(RdsNvmeGrpcTest, CapacityListingAndGrowOnlyExpansion) {
  startDriver();
  csi::v1::GetCapacityResponse before;
  ASSERT_OK(capacity(&before));
  EXPECT_EQ(before.available_capacity(), RdsSimProcess::kPoolCapacityBytes);
  EXPECT_EQ(before.minimum_volume_size().value(), kMiB);

  std::vector<std::string> ids;
  for (const char* name : {"pvc-list-c", "pvc-list-a", "pvc-list-b"})
    ids.push_back(createOk(name, kGiB, blockCapability()).volume_id());
  csi::v1::GetCapacityResponse after;
  ASSERT_OK(capacity(&after));
  EXPECT_EQ(after.available_capacity(), RdsSimProcess::kPoolCapacityBytes - 3 * kGiB)
      << "the pool's free space is what the simulator reports";

  // Two pages of two, covering every volume once.
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    csi::v1::ListVolumesRequest req;
    req.set_max_entries(2);
    req.set_starting_token(token);
    csi::v1::ListVolumesResponse resp;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().ListVolumes(ctx.get(), req, &resp));
    EXPECT_LE(resp.entries_size(), 2);
    for (const auto& e : resp.entries()) {
      listed.push_back(e.volume().volume_id());
      EXPECT_EQ(e.volume().capacity_bytes(), kGiB);
    }
    token = resp.next_token();
    ASSERT_LT(++pages, 5) << "paging does not end";
  } while (!token.empty());
  EXPECT_EQ(pages, 2);
  std::sort(ids.begin(), ids.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, ids);

  // Grow: the disk's file grows on the RDS. A smaller size never shrinks it.
  csi::v1::ControllerExpandVolumeRequest grow;
  grow.set_volume_id(ids[0]);
  grow.mutable_capacity_range()->set_required_bytes(3 * kGiB);
  *grow.mutable_volume_capability() = blockCapability();
  csi::v1::ControllerExpandVolumeResponse grown;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().ControllerExpandVolume(ctx.get(), grow, &grown));
  EXPECT_EQ(grown.capacity_bytes(), 3 * kGiB);
  EXPECT_EQ(detailValue(sim_->diskDetail(slotOf(ids[0])), "file-size"), "3072.0MiB");
  grow.mutable_capacity_range()->set_required_bytes(kGiB);
  csi::v1::ControllerExpandVolumeResponse notShrunk;
  auto ctx2 = rpcContext();
  ASSERT_OK(driver_->controller().ControllerExpandVolume(ctx2.get(), grow, &notShrunk));
  EXPECT_EQ(notShrunk.capacity_bytes(), 3 * kGiB);
  EXPECT_EQ(detailValue(sim_->diskDetail(slotOf(ids[0])), "file-size"), "3072.0MiB");
}

// The SSH client is a library the plugin loads for the controller (a node never maps it:
// LoadedLibrariesTest.ANodeWithTheRdsPluginMapsNoSshLibrary); here it must be there, and the
// commands go through it.
TEST_F(RdsNvmeGrpcTest, TheControllerSpeaksThroughTheSshLibraryItLoads) {
  startDriver();
  csi::v1::GetCapacityResponse answer;
  ASSERT_OK(capacity(&answer));
  EXPECT_EQ(answer.available_capacity(), RdsSimProcess::kPoolCapacityBytes);
  std::ifstream maps("/proc/" + std::to_string(driver_->pid()) + "/maps");
  std::string text((std::istreambuf_iterator<char>(maps)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("/libpolycsi_rds_nvme_ssh.so"), std::string::npos);
  EXPECT_NE(text.find("/libssh.so"), std::string::npos);
}

TEST_F(RdsNvmeGrpcTest, PublishFencesTheExportToTheMigrationPair) {
  startDriver();
  auto vm = createOk("pvc-9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff", kGiB,
                     blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                     {{"migrationTimeoutSeconds", "300"}, {"nvmePort", "4420"}});
  const std::string slot = slotOf(vm.volume_id());
  const std::string nodeA = nodeId("node-a", kNqnA), nodeB = nodeId("node-b", kNqnB),
                    nodeC = nodeId("node-c", kNqnC);
  ASSERT_EQ(allowedHosts(slot), std::vector<std::string>{kPlaceholder});

  csi::v1::ControllerPublishVolumeResponse published;
  ASSERT_OK(publish(vm, nodeA, Mode::MULTI_NODE_MULTI_WRITER, &published));
  EXPECT_EQ(published.publish_context().at("nqn"), "nqn.2000-02.com.mikrotik:" + slot);
  EXPECT_EQ(published.publish_context().at("nvmePort"), "4420");
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kNqnA});
  ASSERT_OK(publish(vm, nodeA));  // repeated: no change
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kNqnA});

  // The migration target joins: both hosts may connect for the window.
  ASSERT_OK(publish(vm, nodeB));
  EXPECT_EQ(allowedHosts(slot), (std::vector<std::string>{kNqnA, kNqnB}));
  EXPECT_NE(metrics().find("rds_csi_migration_active_migrations 1"), std::string::npos);

  // A third node is refused by the core and never reaches the allow-list.
  grpc::Status third = publish(vm, nodeC);
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
  EXPECT_NE(third.error_message().find("already attached to 2 nodes"), std::string::npos)
      << third.error_message();
  EXPECT_EQ(allowedHosts(slot), (std::vector<std::string>{kNqnA, kNqnB}));

  // The source leaves: the migration completes and only the target may connect.
  ASSERT_OK(unpublish(vm, nodeA));
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kNqnB});
  ASSERT_OK(unpublish(vm, nodeA));
  std::string scraped = metrics();
  EXPECT_NE(scraped.find("rds_csi_migration_migrations_total{result=\"success\"} 1"),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("rds_csi_migration_active_migrations 0"), std::string::npos);
  // The last node leaves: the export closes again rather than opening to any host.
  ASSERT_OK(unpublish(vm, nodeB));
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kPlaceholder});

  // A node without an NVMe host NQN cannot be fenced in, nor connect: to this backend it does
  // not exist (CSI: NOT_FOUND), and the export is not touched.
  grpc::Status anonymous = publish(vm, "node-d");
  EXPECT_EQ(anonymous.error_code(), StatusCode::NOT_FOUND) << anonymous.error_message();
  EXPECT_NE(anonymous.error_message().find("node node-d registered no identity for plugin "
                                           "rds_nvme (NVMe host NQN)"),
            std::string::npos)
      << anonymous.error_message();
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kPlaceholder});
}

// A backend renamed in (or dropped from) the configuration does not make its volumes "gone":
// Kubernetes would then delete the PV while the disk stays, and an unpublish would succeed
// while the export still admits the node. Both refuse, naming the missing backend, until the
// configuration names it again.
TEST_F(RdsNvmeGrpcTest, RenamedBackendNeitherDeletesNorUnfencesItsVolumes) {
  startDriver();
  auto vm = createOk("pvc-renamed-backend", kGiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  auto snapReq = csi::v1::CreateSnapshotRequest();
  snapReq.set_name("snapshot-renamed-backend");
  snapReq.set_source_volume_id(vm.volume_id());
  csi::v1::CreateSnapshotResponse snap;
  auto snapCtx = rpcContext();
  ASSERT_OK(driver_->controller().CreateSnapshot(snapCtx.get(), snapReq, &snap));
  const std::string slot = slotOf(vm.volume_id());
  const std::string nodeA = nodeId("node-a", kNqnA);
  ASSERT_OK(publish(vm, nodeA, Mode::SINGLE_NODE_WRITER));
  ASSERT_EQ(allowedHosts(slot), std::vector<std::string>{kNqnA});

  driver_->stop();
  startDriver(settings(sim_->hostKeyFingerprint()), "rds-renamed");
  grpc::Status deleted = deleteVolume(vm.volume_id());
  EXPECT_EQ(deleted.error_code(), StatusCode::FAILED_PRECONDITION) << deleted.error_message();
  EXPECT_NE(deleted.error_message().find("backend 'rds'"), std::string::npos)
      << deleted.error_message();
  EXPECT_NE(deleted.error_message().find("configured: rds-renamed"), std::string::npos)
      << deleted.error_message();
  grpc::Status unpublished = unpublish(vm, nodeA);
  EXPECT_EQ(unpublished.error_code(), StatusCode::FAILED_PRECONDITION)
      << unpublished.error_message();
  csi::v1::DeleteSnapshotRequest deleteSnap;
  deleteSnap.set_snapshot_id(snap.snapshot().snapshot_id());
  csi::v1::DeleteSnapshotResponse deleteSnapResp;
  auto deleteSnapCtx = rpcContext();
  grpc::Status snapDeleted =
      driver_->controller().DeleteSnapshot(deleteSnapCtx.get(), deleteSnap, &deleteSnapResp);
  EXPECT_EQ(snapDeleted.error_code(), StatusCode::FAILED_PRECONDITION)
      << snapDeleted.error_message();
  // Nothing was deleted or unfenced on the RDS.
  EXPECT_EQ(sim_->diskCount(slot), 1);
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kNqnA});
  EXPECT_EQ(imageFiles(sim_->stateDir()).size(), 2u);
  // An id that cannot be polycsi's is still deleted already (CSI).
  EXPECT_TRUE(deleteVolume("not-a-polycsi-volume").ok());

  // Named again, the backend manages its volumes as before.
  driver_->stop();
  startDriver();
  ASSERT_OK(unpublish(vm, nodeA));
  EXPECT_EQ(allowedHosts(slot), std::vector<std::string>{kPlaceholder});
  ASSERT_OK(deleteVolume(vm.volume_id()));
  EXPECT_EQ(sim_->diskCount(slot), 0);
}

TEST_F(RdsNvmeGrpcTest, SnapshotsRestoresClonesAndDeletesLeaveNothingBehind) {
  startDriver();
  auto source = createOk("pvc-source", kGiB, blockCapability());
  csi::v1::CreateSnapshotRequest snapReq;
  snapReq.set_name("snapshot-of-source");
  snapReq.set_source_volume_id(source.volume_id());
  addSnapshotterMetadata(snapReq, "source-snapshot");  // as the external-snapshotter sends it
  csi::v1::CreateSnapshotResponse snap, snapAgain;
  auto c1 = rpcContext(), c2 = rpcContext();
  ASSERT_OK(driver_->controller().CreateSnapshot(c1.get(), snapReq, &snap));
  ASSERT_OK(driver_->controller().CreateSnapshot(c2.get(), snapReq, &snapAgain));
  const std::string snapId = snap.snapshot().snapshot_id();
  EXPECT_EQ(snapAgain.snapshot().snapshot_id(), snapId);
  EXPECT_EQ(snap.snapshot().source_volume_id(), source.volume_id());
  EXPECT_EQ(snap.snapshot().size_bytes(), kGiB);
  EXPECT_TRUE(snap.snapshot().ready_to_use());
  const std::string snapSlot = slotOf(snapId);
  EXPECT_EQ(sim_->diskCount(snapSlot), 1);
  EXPECT_EQ(
      sim_->run("/disk print count-only where slot=\"" + snapSlot + "\" nvme-tcp-export").output,
      "0\r\n")
      << "a snapshot is never exported";

  csi::v1::ListSnapshotsRequest listReq;
  listReq.set_source_volume_id(source.volume_id());
  csi::v1::ListSnapshotsResponse listed;
  auto c3 = rpcContext();
  ASSERT_OK(driver_->controller().ListSnapshots(c3.get(), listReq, &listed));
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).snapshot().snapshot_id(), snapId);

  auto restoreReq = createRequest("pvc-restored", 2 * kGiB, blockCapability());
  restoreReq.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(snapId);
  addProvisionerMetadata(restoreReq, "restored");
  csi::v1::CreateVolumeResponse restored;
  ASSERT_OK(create(restoreReq, &restored));
  EXPECT_EQ(restored.volume().capacity_bytes(), 2 * kGiB) << "a restore may ask for more";
  EXPECT_EQ(detailValue(sim_->diskDetail(slotOf(restored.volume().volume_id())), "file-size"),
            "2048.0MiB");
  auto cloneReq = createRequest("pvc-clone", kGiB, blockCapability());
  cloneReq.mutable_volume_content_source()->mutable_volume()->set_volume_id(source.volume_id());
  addProvisionerMetadata(cloneReq, "clone");
  csi::v1::CreateVolumeResponse cloned;
  ASSERT_OK(create(cloneReq, &cloned));
  EXPECT_EQ(sim_->diskCount(slotOf(cloned.volume().volume_id())), 1);

  csi::v1::DeleteSnapshotRequest delSnap;
  delSnap.set_snapshot_id(snapId);
  csi::v1::DeleteSnapshotResponse deleted;
  auto c4 = rpcContext(), c5 = rpcContext();
  ASSERT_OK(driver_->controller().DeleteSnapshot(c4.get(), delSnap, &deleted));
  ASSERT_OK(driver_->controller().DeleteSnapshot(c5.get(), delSnap, &deleted));
  EXPECT_EQ(sim_->diskCount(snapSlot), 0);

  for (const std::string& id :
       {source.volume_id(), restored.volume().volume_id(), cloned.volume().volume_id()}) {
    ASSERT_OK(deleteVolume(id));
    ASSERT_OK(deleteVolume(id));  // gone already is success
    EXPECT_EQ(sim_->diskCount(slotOf(id)), 0) << id;
  }
  EXPECT_TRUE(imageFiles(sim_->stateDir()).empty())
      << "left behind: " << imageFiles(sim_->stateDir()).front();
  csi::v1::ListVolumesResponse none;
  auto c6 = rpcContext();
  ASSERT_OK(driver_->controller().ListVolumes(c6.get(), {}, &none));
  EXPECT_EQ(none.entries_size(), 0);
}

TEST_F(RdsNvmeGrpcTest, ChangedHostKeyIsRefusedNamingBothFingerprints) {
  const std::string wrong = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  ASSERT_NE(wrong, sim_->hostKeyFingerprint());
  // The pool connects lazily, so the driver starts; every call that needs the RDS refuses.
  startDriver(settings(wrong));
  auto req = createRequest("pvc-mitm", kGiB, blockCapability());
  csi::v1::CreateVolumeResponse resp;
  grpc::Status s = create(req, &resp);
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("does not match the pinned fingerprint"), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find(sim_->hostKeyFingerprint()), std::string::npos)
      << s.error_message();
  EXPECT_NE(s.error_message().find(wrong), std::string::npos) << s.error_message();
  csi::v1::GetCapacityResponse cap;
  EXPECT_EQ(capacity(&cap).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(sim_->log().find("exec:"), std::string::npos)
      << "a command reached a server whose key did not match:\n"
      << sim_->log();
  EXPECT_EQ(sim_->diskCount("pvc-mitm"), 0);
}

TEST_F(RdsNvmeGrpcTest, RecoversAfterTheRdsRestartsMidSequence) {
  startDriver();
  auto first = createOk("pvc-before-restart", kGiB, blockCapability());
  ASSERT_OK(publish(first, nodeId("node-a", kNqnA), Mode::SINGLE_NODE_WRITER));
  // The pooled SSH sessions die with the simulator; state survives on its disk.
  sim_->restart();
  auto second = createOk("pvc-after-restart", kGiB, blockCapability());
  EXPECT_EQ(sim_->diskCount(slotOf(second.volume_id())), 1);
  ASSERT_OK(unpublish(first, nodeId("node-a", kNqnA)));
  EXPECT_EQ(allowedHosts(slotOf(first.volume_id())), std::vector<std::string>{kPlaceholder});
  ASSERT_OK(deleteVolume(first.volume_id()));
  EXPECT_EQ(sim_->diskCount(slotOf(first.volume_id())), 0);
  EXPECT_EQ(sim_->diskCount(slotOf(second.volume_id())), 1);
}

TEST_F(RdsNvmeGrpcTest, HungCommandTimesOutAndTheBackendRecovers) {
  startDriver(settings(sim_->hostKeyFingerprint(), "      command_timeout_seconds: 2\n"));
  auto warmup = createOk("pvc-warmup", kGiB, blockCapability());
  // Every command now hangs far longer than the plugin waits for one.
  sim_->fault("delay-ms=8000");
  auto req = createRequest("pvc-during-hang", kGiB, blockCapability());
  csi::v1::CreateVolumeResponse resp;
  grpc::Status hung;
  {
    auto ctx = rpcContext(60);
    hung = driver_->controller().CreateVolume(ctx.get(), req, &resp);
  }
  EXPECT_TRUE(hung.error_code() == StatusCode::DEADLINE_EXCEEDED ||
              hung.error_code() == StatusCode::UNAVAILABLE)
      << hung.error_code() << " " << hung.error_message();
  // The plugin gave up (the message is its own), not the client's 60 s deadline.
  EXPECT_NE(hung.error_message().find("RDS"), std::string::npos) << hung.error_message();

  sim_->fault("reset");
  auto after = createOk("pvc-during-hang", kGiB, blockCapability());
  EXPECT_EQ(sim_->diskCount(slotOf(after.volume_id())), 1);
  ASSERT_OK(deleteVolume(warmup.volume_id()));
  EXPECT_EQ(sim_->diskCount(slotOf(warmup.volume_id())), 0);
}

TEST_F(RdsNvmeGrpcTest, LostReplyToDiskAddThenRetryCreatesExactlyOneDisk) {
  startDriver();
  const std::string name = "pvc-5e6f7a8b-1234-4567-89ab-cdef01234567";
  // CreateVolume looks for the slot, then sends `/disk add`: the second command runs on the RDS
  // and its reply is lost with the connection.
  sim_->fault("drop-reply-after=2");
  auto req = createRequest(name, kGiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse first, retried;
  grpc::Status firstStatus = create(req, &first);
  EXPECT_NE(sim_->log().find("instead of the reply to `/disk add"), std::string::npos)
      << "the fault did not hit /disk add";
  // The plugin looks before acting again, finds the disk its unanswered add made, and goes on.
  ASSERT_TRUE(firstStatus.ok()) << firstStatus.error_code() << " " << firstStatus.error_message();
  EXPECT_NE(driver_->log().find("reply to adding disk " + name + " was lost"), std::string::npos);
  // The CO retries anyway (as after a timeout): the same volume, still one disk.
  ASSERT_OK(create(req, &retried));
  EXPECT_EQ(retried.volume().volume_id(), first.volume().volume_id());
  EXPECT_EQ(sim_->diskCount(name), 1);
  EXPECT_EQ(allowedHosts(name), std::vector<std::string>{kPlaceholder});

  // The same for the allow-list change of a publish: the core reads the volume, the plugin
  // looks for the disk, then sends `/disk set` (the third command).
  sim_->fault("drop-reply-after=3");
  ASSERT_OK(publish(first.volume(), nodeId("node-a", kNqnA)));
  EXPECT_NE(sim_->log().find("instead of the reply to `/disk set"), std::string::npos);
  ASSERT_OK(publish(first.volume(), nodeId("node-a", kNqnA)));
  EXPECT_EQ(allowedHosts(name), std::vector<std::string>{kNqnA});
}

// ---- group snapshots (CSI GroupController) ----

// A KubeVirt VM's three disks on the simulated RDS, each with its own content.
class RdsNvmeGroupSnapshotTest : public RdsNvmeGrpcTest {
 protected:
  std::vector<std::string> vmDisks(int64_t bytes, std::map<std::string, std::string>* contents) {
    std::vector<std::string> ids;
    for (const char* name : {"vm1-rootdisk", "vm1-datadisk", "vm1-scratch"}) {
      auto v = createOk(name, bytes, blockCapability());
      std::string text = std::string("content of ") + name;
      writeImage(imageOf(*sim_, slotOf(v.volume_id())), text);
      (*contents)[v.volume_id()] = text;
      ids.push_back(v.volume_id());
    }
    return ids;
  }
};

TEST_F(RdsNvmeGroupSnapshotTest, VmGroupIsCopiedInOnePassAndEveryMemberRestoresItsDisk) {
  startDriver();
  std::map<std::string, std::string> contents;
  auto disks = vmDisks(kGiB, &contents);
  csi::v1::CreateVolumeGroupSnapshotResponse created, retried;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  const auto& group = created.group_snapshot();
  ASSERT_EQ(group.snapshots_size(), 3);
  EXPECT_TRUE(group.ready_to_use());
  ASSERT_OK(
      createGroupSnapshot(*driver_, "groupsnapshot-vm1", {disks[2], disks[0], disks[1]}, &retried));
  EXPECT_EQ(retried.group_snapshot().group_snapshot_id(), group.group_snapshot_id());
  EXPECT_EQ(memberIds(retried.group_snapshot()), memberIds(group));
  // Each member is one unexported snapshot disk that names its group in its comment.
  for (const auto& member : group.snapshots()) {
    EXPECT_EQ(member.group_snapshot_id(), group.group_snapshot_id());
    EXPECT_EQ(sim_->diskCount(slotOf(member.snapshot_id())), 1);
    EXPECT_NE(sim_->diskDetail(slotOf(member.snapshot_id()))
                  .find(";;; polycsi-group=" + slotOf(group.group_snapshot_id())),
              std::string::npos)
        << sim_->diskDetail(slotOf(member.snapshot_id()));
    csi::v1::GetSnapshotRequest get;
    get.set_snapshot_id(member.snapshot_id());
    csi::v1::GetSnapshotResponse got;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().GetSnapshot(ctx.get(), get, &got));
    EXPECT_EQ(got.snapshot().group_snapshot_id(), group.group_snapshot_id());
  }
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_EQ(all.size(), 3u);
  for (const auto& s : all) EXPECT_EQ(s.group_snapshot_id(), group.group_snapshot_id());

  // A second controller replica knows the group from the RDS alone.
  driver_->stop();
  startDriver();
  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  ASSERT_OK(getGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group), &fetched));
  EXPECT_EQ(memberIds(fetched.group_snapshot()), memberIds(group));

  for (const auto& disk : disks) writeImage(imageOf(*sim_, slotOf(disk)), "overwritten later");
  for (const auto& member : group.snapshots()) {
    auto req =
        createRequest("restored-" + slotOf(member.source_volume_id()), kGiB, blockCapability());
    req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(member.snapshot_id());
    addProvisionerMetadata(req, "restored");
    csi::v1::CreateVolumeResponse restored;
    ASSERT_OK(create(req, &restored));
    const std::string& expected = contents.at(member.source_volume_id());
    EXPECT_EQ(readImage(imageOf(*sim_, slotOf(restored.volume().volume_id())), expected.size()),
              expected)
        << "restored from " << member.snapshot_id();
    ASSERT_OK(deleteVolume(restored.volume().volume_id()));
  }

  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  for (const auto& member : group.snapshots())
    EXPECT_EQ(sim_->diskCount(slotOf(member.snapshot_id())), 0) << member.snapshot_id();
  EXPECT_EQ(getGroupSnapshot(*driver_, group.group_snapshot_id(), {}, &fetched).error_code(),
            StatusCode::NOT_FOUND);
  EXPECT_EQ(getGroupSnapshot(*driver_, "rds:grp-never-made-0123456789abcdef-01234567", {}, &fetched)
                .error_code(),
            StatusCode::NOT_FOUND);
  // Another set of volumes under a name in use is ALREADY_EXISTS.
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  EXPECT_EQ(createGroupSnapshot(*driver_, "groupsnapshot-vm1", {disks[0], disks[1]}, &retried)
                .error_code(),
            StatusCode::ALREADY_EXISTS);
}

TEST_F(RdsNvmeGroupSnapshotTest, MemberTheRdsHasNoSpaceForRollsBackTheGroup) {
  startDriver();
  // Three 20 GiB disks in the simulator's 100 GiB pool leave room for two snapshot copies.
  constexpr int64_t kDisk = 20 * kGiB;
  static_assert(5 * kDisk == RdsSimProcess::kPoolCapacityBytes);
  std::map<std::string, std::string> contents;
  auto disks = vmDisks(kDisk, &contents);
  std::vector<std::string> sorted = disks;
  std::sort(sorted.begin(), sorted.end());
  csi::v1::CreateVolumeGroupSnapshotResponse created;
  auto status = createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_NE(status.error_message().find("snapshot of volume " + sorted[2]), std::string::npos)
      << status.error_message();
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left after the rollback";
  EXPECT_EQ(imageFiles(sim_->stateDir()).size(), 3u) << "only the three disks' files remain";
}

// The controller's volume condition reads the RDS: a healthy volume says what was checked; an
// allow-list changed behind the driver's back names the extra and the missing host, an export
// switched off says so; ListVolumes gives each entry its own condition from one listing.
TEST_F(RdsNvmeGrpcTest, VolumeConditionNamesWhatChangedBehindTheDriversBack) {
  startDriver();
  auto vol = createOk("pvc-health-1", kGiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  auto idle = createOk("pvc-health-2", kGiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  const std::string slot = slotOf(vol.volume_id());
  ASSERT_OK(publish(vol, nodeId("node-a", kNqnA), Mode::SINGLE_NODE_WRITER));

  auto healthy = condition(vol.volume_id());
  EXPECT_FALSE(healthy.abnormal()) << healthy.message();
  EXPECT_EQ(healthy.message(), "disk " + slot + " exported over NVMe/TCP on port 4420 as " +
                                   "nqn.2000-02.com.mikrotik:" + slot +
                                   "; its allow-list holds exactly the published nodes [node-a]");
  EXPECT_FALSE(condition(idle.volume_id()).abnormal()) << condition(idle.volume_id()).message();

  // A host nobody published is let in on the RDS itself.
  onTheRds("/disk set [find slot=\"" + slot + "\"] nvme-tcp-server-allow-host-name=" + kNqnA + "," +
           kNqnC);
  auto extra = condition(vol.volume_id());
  EXPECT_TRUE(extra.abnormal());
  EXPECT_EQ(extra.message(), "disk " + slot + ": host NQN " + kNqnC +
                                 " is on the allow-list but no node is published: that host can "
                                 "reach the data; remove it from nvme-tcp-server-allow-host-name "
                                 "on the RDS");

  // The published node taken off: it is named as missing, with its NQN.
  onTheRds("/disk set [find slot=\"" + slot + "\"] nvme-tcp-server-allow-host-name=" + kNqnC);
  auto missing = condition(vol.volume_id());
  EXPECT_TRUE(missing.abnormal());
  EXPECT_NE(missing.message().find("node node-a (host NQN " + std::string(kNqnA) +
                                   ") is published but missing from the allow-list: it cannot "
                                   "connect"),
            std::string::npos)
      << missing.message();

  // ListVolumes: one page, each entry with its own condition.
  csi::v1::ListVolumesResponse list;
  auto ctx = rpcContext();
  ASSERT_OK(driver_->controller().ListVolumes(ctx.get(), csi::v1::ListVolumesRequest(), &list));
  ASSERT_EQ(list.entries_size(), 2);
  for (const auto& e : list.entries()) {
    ASSERT_TRUE(e.status().has_volume_condition()) << e.volume().volume_id();
    EXPECT_EQ(e.status().volume_condition().abnormal(), e.volume().volume_id() == vol.volume_id())
        << e.volume().volume_id() << ": " << e.status().volume_condition().message();
  }

  // The export switched off.
  onTheRds("/disk set [find slot=\"" + slot + "\"] nvme-tcp-export=no");
  auto unexported = condition(vol.volume_id());
  EXPECT_TRUE(unexported.abnormal());
  EXPECT_NE(unexported.message().find("is not exported over NVMe/TCP (nvme-tcp-export=no)"),
            std::string::npos)
      << unexported.message();
}

}  // namespace
}  // namespace polycsi::testing
