// KubeVirt live migration through `polycsi serve` with the sample plugin (RWX block =
// migration_window): the whole flow, rollback, the third-node refusal, a controller killed and
// restarted mid-migration, the window's timeout, the metrics scraped over HTTP, and the events
// posted to a local fake Kubernetes API.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "fake_kube_api.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;
using kube::testing::FakeKubeApi;
constexpr char kToken[] = "integration-token";
constexpr char kClaimUid[] = "0d6c1f7a-5b3e-4c2d-9e8f-7a6b5c4d3e2f";

// A port that was free a moment ago on 127.0.0.1.
int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

class SampleMigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "run as root (the sample plugin's node side uses loop devices)";
    std::ofstream(work_.str() + "/token") << kToken;
    api_.setPersistentVolumeClaim("vms", "vm-disk", kClaimUid);
    api_.enforceClusterRole(POLYCSI_CONTROLLER_RBAC, "polycsi-controller");
    // The tests' node ids are bare node names: the registered node plugins report no identity.
    for (const char* node : {"node-a", "node-b", "node-c"})
      api_.setCsiNode(node, "polycsi.csi.io", node);
    metricsPort_ = freePort();
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        "    settings:\n      directory: " +
            work_.str() + "/volumes\n",
        "node-a",
        std::vector<std::string>{"--mode", "controller", "--metrics-address",
                                 "127.0.0.1:" + std::to_string(metricsPort_), "--kubernetes-api",
                                 api_.baseUrl(), "--kubernetes-token-file",
                                 work_.str() + "/token"});
    driver_->start();
  }
  void TearDown() override {
    // Every request the driver made is one docs/fidelity.md lists with its public source.
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
    EXPECT_EQ(api_.refusedEvents(), std::vector<std::string>{}) << "Events the API refuses";
    if (HasFailure()) std::cerr << "driver log:\n" << driver_->log();
  }

  // An RWX block volume as the provisioner creates it for a KubeVirt VM disk.
  csi::v1::CreateVolumeResponse createVmDisk(
      const std::string& name, int timeoutSeconds,
      const std::map<std::string, std::string>& mutableParameters = {}) {
    auto req = createRequest(name, 8 * kMiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
    auto& params = *req.mutable_parameters();
    params["migrationTimeoutSeconds"] = std::to_string(timeoutSeconds);
    // external-provisioner's --extra-create-metadata: the PV is named as the volume.
    params["csi.storage.k8s.io/pv/name"] = name;
    for (const auto& [key, value] : mutableParameters)
      (*req.mutable_mutable_parameters())[key] = value;
    params["csi.storage.k8s.io/pvc/name"] = "vm-disk";
    params["csi.storage.k8s.io/pvc/namespace"] = "vms";
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    auto s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp;
  }
  // The volume context as the PV carries it.
  grpc::Status publish(const csi::v1::Volume& v, const std::string& node,
                       AccessModeEnum mode = Mode::MULTI_NODE_MULTI_WRITER) {
    return CsiCalls(*driver_).controllerPublish(v.volume_id(), node, blockCapability(mode),
                                                contextOf(v));
  }
  grpc::Status unpublish(const csi::v1::Volume& v, const std::string& node) {
    return CsiCalls(*driver_).controllerUnpublish(v.volume_id(), node);
  }
  std::vector<std::string> publishedNodes(const std::string& volumeId) {
    csi::v1::ControllerGetVolumeRequest req;
    req.set_volume_id(volumeId);
    csi::v1::ControllerGetVolumeResponse resp;
    auto ctx = rpcContext();
    EXPECT_TRUE(driver_->controller().ControllerGetVolume(ctx.get(), req, &resp).ok());
    return {resp.status().published_node_ids().begin(), resp.status().published_node_ids().end()};
  }
  std::string metrics() {
    httplib::Client client("127.0.0.1", metricsPort_);
    client.set_connection_timeout(5);
    auto res = client.Get("/metrics");
    EXPECT_TRUE(res) << "metrics endpoint unreachable";
    return res ? res->body : "";
  }
  // The PersistentVolume the provisioner made for `volume` (an RWX block VM disk of claim
  // vms/vm-disk), its volume attributes the volume context with `overrides` on top.
  nlohmann::json vmDiskPv(const std::string& name, const csi::v1::Volume& volume,
                          const std::map<std::string, std::string>& overrides = {}) {
    nlohmann::json attributes = nlohmann::json::object();
    for (const auto& [key, value] : volume.volume_context()) attributes[key] = value;
    for (const auto& [key, value] : overrides) attributes[key] = value;
    return {{"apiVersion", "v1"},
            {"kind", "PersistentVolume"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"accessModes", {"ReadWriteMany"}},
              {"volumeMode", "Block"},
              {"claimRef", {{"name", "vm-disk"}, {"namespace", "vms"}}},
              {"csi",
               {{"driver", "polycsi.csi.io"},
                {"volumeHandle", volume.volume_id()},
                {"volumeAttributes", attributes}}}}}};
  }
  // The controller's disk is gone: its attachment store with it.
  void loseAttachmentStore() {
    for (const char* file : {"attachments.db", "attachments.db-wal", "attachments.db-shm"})
      std::filesystem::remove(work_.str() + "/state/" + file);
  }
  // How many events with `reason` arrived so far.
  size_t eventCount(const std::string& reason) {
    size_t count = 0;
    for (const auto& e : api_.events()) count += e.body.value("reason", "") == reason ? 1 : 0;
    return count;
  }
  // Waits (bounded: `polls` of 50 ms) until an event with `reason` arrived; returns its message.
  std::string eventMessage(const std::string& reason, int polls = 200) {
    for (int i = 0; i < polls; ++i) {
      for (const auto& e : api_.events())
        if (e.body.value("reason", "") == reason) {
          EXPECT_EQ(e.namespace_, "vms");
          EXPECT_EQ(e.body["involvedObject"].value("kind", ""), "PersistentVolumeClaim");
          EXPECT_EQ(e.body["involvedObject"].value("name", ""), "vm-disk");
          EXPECT_EQ(e.body["involvedObject"].value("uid", ""), kClaimUid)
              << "kubectl describe pvc shows only events with the claim's uid";
          return e.body.value("message", "");
        }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "<no " + reason + " event>";
  }

  // Waits (bounded) until `count` events with `reason` arrived; returns the last one's message.
  std::string nthEventMessage(const std::string& reason, size_t count) {
    for (int i = 0; i < 200 && eventCount(reason) < count; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::string last = "<fewer than " + std::to_string(count) + " " + reason + " events>";
    size_t seen = 0;
    for (const auto& e : api_.events())
      if (e.body.value("reason", "") == reason && ++seen == count)
        last = e.body.value("message", "");
    return last;
  }
  // ControllerModifyVolume as external-resizer sends it: the class's parameters, no secrets.
  grpc::Status modify(const std::string& volumeId,
                      const std::map<std::string, std::string>& parameters) {
    csi::v1::ControllerModifyVolumeRequest req;
    req.set_volume_id(volumeId);
    for (const auto& [key, value] : parameters) (*req.mutable_mutable_parameters())[key] = value;
    csi::v1::ControllerModifyVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->controller().ControllerModifyVolume(ctx.get(), req, &resp);
  }
  // What external-resizer v1.12.0 does once ControllerModifyVolume succeeded
  // (pkg/modifycontroller/modify_status.go, markControllerModifyVolumeCompleted): the PV now
  // names the class. The class `name` sets migrationTimeoutSeconds to `seconds`.
  void recordClassOnPv(const std::string& pvName, const csi::v1::Volume& volume,
                       const std::string& name, int seconds) {
    api_.setVolumeAttributesClass(name, "polycsi.csi.io",
                                  {{"migrationTimeoutSeconds", std::to_string(seconds)}});
    nlohmann::json pv = vmDiskPv(pvName, volume);
    pv["spec"]["volumeAttributesClassName"] = name;
    api_.setPersistentVolume(pvName, pv);
  }

  TempDir work_;
  FakeKubeApi api_{kToken};
  int metricsPort_ = 0;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(SampleMigrationTest, KubeVirtHandoffCompletesAndRefusesAThirdNode) {
  auto volume = createVmDisk("pvc-vm", 300).volume();
  const std::string id = volume.volume_id();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-a").ok()) << "repeating a publish is a no-op";
  ASSERT_TRUE(publish(volume, "node-b").ok()) << "the target may join: migration starts";
  ASSERT_TRUE(publish(volume, "node-b").ok());
  EXPECT_EQ(eventMessage("MigrationStarted"),
            "[vm-disk]: KubeVirt live migration started - source: node-a, target: node-b, "
            "timeout: 5m0s");
  auto third = publish(volume, "node-c");
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(third.error_message(), "Volume " + id +
                                       " already attached to 2 nodes (migration limit). "
                                       "Attached nodes: [node-a, node-b]");
  EXPECT_NE(eventMessage("AttachmentConflict").find("already attached to 2 nodes"),
            std::string::npos);
  EXPECT_NE(metrics().find("sample_csi_migration_active_migrations 1"), std::string::npos);

  ASSERT_TRUE(unpublish(volume, "node-a").ok()) << "the source detaches: migration completes";
  EXPECT_EQ(publishedNodes(id), std::vector<std::string>{"node-b"});
  std::string completed = eventMessage("MigrationCompleted");
  EXPECT_EQ(completed.rfind("[vm-disk]: KubeVirt live migration completed - source: node-a "
                            "\xE2\x86\x92 target: node-b (duration: ",
                            0),
            0u)
      << completed;
  std::string scraped = metrics();
  EXPECT_NE(scraped.find("sample_csi_migration_migrations_total{result=\"success\"} 1"),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("sample_csi_migration_active_migrations 0"), std::string::npos);
  EXPECT_NE(scraped.find("sample_csi_migration_migration_duration_seconds_count 1"),
            std::string::npos);
  EXPECT_NE(scraped.find("polycsi_operations_total"), std::string::npos);
  // After the handoff the volume is an ordinary single attachment again: a new migration may
  // start from node-b.
  ASSERT_TRUE(publish(volume, "node-c").ok());
  ASSERT_TRUE(unpublish(volume, "node-b").ok());
  ASSERT_TRUE(unpublish(volume, "node-c").ok());
}

// CSI: ControllerPublishVolume to a node that does not exist is NOT_FOUND. The cluster knows
// a node by the node id its CSINode carries for the driver (csi-sanity: "some-fake-node-id").
// ControllerModifyVolume of migrationTimeoutSeconds (a VolumeAttributesClass): accepted, and
// once the resizer recorded the class on the PV, the next migration window has its length,
// on whichever replica decides it, while the StorageClass's stays in the volume context.
TEST_F(SampleMigrationTest, ModifiedWindowAppliesToTheNextMigration) {
  auto volume = createVmDisk("pvc-modified", 300).volume();
  EXPECT_EQ(volume.volume_context().at("polycsi.io/pv-name"), "pvc-modified");
  ASSERT_TRUE(modify(volume.volume_id(), {{"migrationTimeoutSeconds", "600"}}).ok());
  recordClassOnPv("pvc-modified", volume, "slow-migrations", 600);
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  EXPECT_EQ(eventMessage("MigrationStarted"),
            "[vm-disk]: KubeVirt live migration started - source: node-a, target: node-b, "
            "timeout: 10m0s");
  // A window outside 30-3600 s is refused before anything is recorded.
  auto refused = modify(volume.volume_id(), {{"migrationTimeoutSeconds", "7200"}});
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.error_message().find("mutable_parameters.migrationTimeoutSeconds"),
            std::string::npos)
      << refused.error_message();
}

// A change while a window is open applies to the next migration: the open window keeps the
// length it opened with (and the event on the claim says so), the next one gets the new one.
TEST_F(SampleMigrationTest, ModifyDuringAnOpenWindowKeepsTheRunningWindow) {
  auto volume = createVmDisk("pvc-open-window", 30).volume();
  const std::string id = volume.volume_id();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  ASSERT_TRUE(modify(id, {{"migrationTimeoutSeconds", "3600"}}).ok());
  recordClassOnPv("pvc-open-window", volume, "long-migrations", 3600);
  EXPECT_EQ(eventMessage("MigrationTimeoutModified"),
            "Volume " + id +
                ": migrationTimeoutSeconds is now 1h0m0s and applies to the next migration; the "
                "migration open now (source: node-a, target: node-b) keeps its 30s window");
  // The open window still ends after its 30 s.
  std::this_thread::sleep_for(std::chrono::seconds(30));
  EXPECT_EQ(eventMessage("MigrationFailed", 400)
                .rfind("[vm-disk]: KubeVirt live migration failed - source: node-a, attempted "
                       "target: node-b, reason: timeout, elapsed: ",
                       0),
            0u);
  auto late = publish(volume, "node-c");
  EXPECT_EQ(late.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(late.error_message().find(" elapsed, 30s max)"), std::string::npos)
      << late.error_message();
  // Detaching the source resets it; the next migration has the class's window.
  ASSERT_TRUE(unpublish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-c").ok());
  EXPECT_EQ(nthEventMessage("MigrationStarted", 2),
            "[vm-disk]: KubeVirt live migration started - source: node-b, target: node-c, "
            "timeout: 1h0m0s");
}

// CSI: the plugin applies mutable_parameters at CreateVolume. The class's window wins over
// the StorageClass's, and the sample plugin's mutable `tier` is set; both are refused the same
// way as in a modify when they are not mutable or out of range.
TEST_F(SampleMigrationTest, MutableParametersAtCreateAreApplied) {
  auto volume = createVmDisk("pvc-created-with-class", 300,
                             {{"migrationTimeoutSeconds", "900"}, {"tier", "fast"}})
                    .volume();
  EXPECT_EQ(volume.volume_context().at("polycsi.io/migration-timeout-seconds"), "900");
  EXPECT_EQ(volume.volume_context().at("tier"), "fast");
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  EXPECT_EQ(eventMessage("MigrationStarted"),
            "[vm-disk]: KubeVirt live migration started - source: node-a, target: node-b, "
            "timeout: 15m0s");

  auto req =
      createRequest("pvc-bad-class", 8 * kMiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  (*req.mutable_mutable_parameters())["directory"] = "/elsewhere";
  csi::v1::CreateVolumeResponse resp;
  auto ctx = rpcContext();
  auto refused = driver_->controller().CreateVolume(ctx.get(), req, &resp);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(refused.error_message(),
            "mutable_parameters.directory: backend 'local' (plugin sample) cannot change this "
            "parameter on a live volume (mutable parameters: migrationTimeoutSeconds, tier)");
}

// The sample plugin's own mutable parameter goes through the SDK's modify_volume: the volume
// reports the new tier; a parameter that is not mutable is refused naming it and the backend.
TEST_F(SampleMigrationTest, ModifyVolumeChangesThePluginsMutableParameter) {
  csi::v1::ControllerGetCapabilitiesResponse caps;
  {
    auto ctx = rpcContext();
    ASSERT_TRUE(driver_->controller()
                    .ControllerGetCapabilities(ctx.get(),
                                               csi::v1::ControllerGetCapabilitiesRequest(), &caps)
                    .ok());
  }
  bool advertised = false;
  for (const auto& c : caps.capabilities())
    advertised =
        advertised || c.rpc().type() == csi::v1::ControllerServiceCapability::RPC::MODIFY_VOLUME;
  EXPECT_TRUE(advertised) << "MODIFY_VOLUME";
  auto volume = createVmDisk("pvc-tier", 300).volume();
  EXPECT_EQ(volume.volume_context().count("tier"), 0u);
  ASSERT_TRUE(modify(volume.volume_id(), {{"tier", "fast"}}).ok());
  csi::v1::ControllerGetVolumeRequest get;
  get.set_volume_id(volume.volume_id());
  csi::v1::ControllerGetVolumeResponse got;
  auto ctx = rpcContext();
  ASSERT_TRUE(driver_->controller().ControllerGetVolume(ctx.get(), get, &got).ok());
  EXPECT_EQ(got.volume().volume_context().at("tier"), "fast");
  auto badValue = modify(volume.volume_id(), {{"tier", "gold"}});
  EXPECT_EQ(badValue.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(badValue.error_message().find("'tier'"), std::string::npos) << badValue.error_message();
  auto notMutable = modify(volume.volume_id(), {{"encrypted", "true"}});
  EXPECT_EQ(notMutable.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(notMutable.error_message(),
            "mutable_parameters.encrypted: backend 'local' (plugin sample) cannot change this "
            "parameter on a live volume (mutable parameters: migrationTimeoutSeconds, tier)");
  auto missing = modify(volume.volume_id() + "x", {{"tier", "fast"}});
  EXPECT_EQ(missing.error_code(), StatusCode::NOT_FOUND) << missing.error_message();
}

TEST_F(SampleMigrationTest, PublishToANodeTheClusterHasNotRegisteredIsNotFound) {
  auto volume = createVmDisk("pvc-unknown-node", 300).volume();
  grpc::Status fake = publish(volume, "some-fake-node-id");
  EXPECT_EQ(fake.error_code(), StatusCode::NOT_FOUND) << fake.error_message();
  EXPECT_NE(fake.error_message().find("no CSINode some-fake-node-id"), std::string::npos)
      << fake.error_message();
  // A node id other than the one registered for the driver is not that node either.
  grpc::Status other = publish(volume, "node-a|sample=someone-else");
  EXPECT_EQ(other.error_code(), StatusCode::NOT_FOUND) << other.error_message();
  EXPECT_NE(other.error_message().find("registers it as node id node-a instead"), std::string::npos)
      << other.error_message();
  // While the node plugin re-registers (no entry for the driver) the node is unknown too.
  api_.removeCsiNodeDriver("node-b", "polycsi.csi.io");
  EXPECT_EQ(publish(volume, "node-b").error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(publishedNodes(volume.volume_id()).empty()) << "nothing was attached";
  EXPECT_TRUE(publish(volume, "node-a").ok());
}

TEST_F(SampleMigrationTest, TargetDetachingRollsBack) {
  auto volume = createVmDisk("pvc-rollback", 300).volume();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  ASSERT_TRUE(unpublish(volume, "node-b").ok());
  EXPECT_EQ(publishedNodes(volume.volume_id()), std::vector<std::string>{"node-a"});
  EXPECT_EQ(
      eventMessage("MigrationFailed")
          .rfind("[vm-disk]: KubeVirt live migration failed - source: node-a, attempted target: "
                 "node-b, reason: target detached, elapsed: ",
                 0),
      0u);
  EXPECT_NE(metrics().find("sample_csi_migration_migrations_total{result=\"failed\"} 1"),
            std::string::npos);
}

TEST_F(SampleMigrationTest, ExclusiveVolumeIsNeverOnTwoNodes) {
  auto req = createRequest("pvc-rwo", 4 * kMiB, blockCapability(Mode::SINGLE_NODE_WRITER));
  csi::v1::CreateVolumeResponse created;
  auto ctx = rpcContext();
  ASSERT_TRUE(driver_->controller().CreateVolume(ctx.get(), req, &created).ok());
  ASSERT_TRUE(publish(created.volume(), "node-a", Mode::SINGLE_NODE_WRITER).ok());
  auto second = publish(created.volume(), "node-b", Mode::SINGLE_NODE_WRITER);
  EXPECT_EQ(second.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(second.error_message().find("already attached to node node-a"), std::string::npos)
      << second.error_message();
  ASSERT_TRUE(unpublish(created.volume(), "node-a").ok());
  ASSERT_TRUE(publish(created.volume(), "node-b", Mode::SINGLE_NODE_WRITER).ok());
}

TEST_F(SampleMigrationTest, ControllerKilledMidMigrationRecoversTheWindow) {
  auto volume = createVmDisk("pvc-restart", 300).volume();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  // The cluster holds both VolumeAttachments, as during a real migration; the restarted
  // controller reconciles against them and must keep both.
  api_.setPersistentVolume("pv-restart", vmDiskPv("pv-restart", volume));
  api_.setVolumeAttachments(
      {kube::testing::volumeAttachment("csi-a", "polycsi.csi.io", "pv-restart", "node-a", true,
                                       "2026-01-01T10:00:00Z"),
       kube::testing::volumeAttachment("csi-b", "polycsi.csi.io", "pv-restart", "node-b", true,
                                       "2026-01-01T10:01:00Z")});
  driver_->stop(/*hard=*/true);
  driver_->start();
  auto third = publish(volume, "node-c");
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(third.error_message().find("Attached nodes: [node-a, node-b]"), std::string::npos)
      << third.error_message();
  EXPECT_NE(metrics().find("sample_csi_migration_active_migrations 1"), std::string::npos)
      << "the gauge starts from the persisted state";
  ASSERT_TRUE(unpublish(volume, "node-a").ok());
  EXPECT_EQ(publishedNodes(volume.volume_id()), std::vector<std::string>{"node-b"});
}

TEST_F(SampleMigrationTest, LostStoreIsRebuiltFromVolumeAttachments) {
  auto volume = createVmDisk("pvc-lost", 300).volume();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  api_.setPersistentVolume("pv-lost", vmDiskPv("pv-lost", volume));
  api_.setVolumeAttachments({kube::testing::volumeAttachment(
      "csi-lost", "polycsi.csi.io", "pv-lost", "node-a", true, "2026-01-01T10:00:00Z")});
  driver_->stop(/*hard=*/true);
  // The controller's disk is gone: the cluster still knows the volume is on node-a.
  loseAttachmentStore();
  driver_->start();
  EXPECT_EQ(publishedNodes(volume.volume_id()), std::vector<std::string>{"node-a"});
  // So the RWX block volume's migration rules still hold: node-b may join, node-c may not.
  ASSERT_TRUE(publish(volume, "node-b").ok());
  EXPECT_EQ(publish(volume, "node-c").error_code(), StatusCode::FAILED_PRECONDITION);
}

// A PV whose recorded window is one CreateVolume would refuse (edited by hand) is rebuilt with
// the default window, never an unbounded or zero one, and the claim gets an event naming it.
TEST_F(SampleMigrationTest, RebuiltWindowOutOfRangeGetsTheDefaultAndAnEvent) {
  auto volume = createVmDisk("pvc-edited", 300).volume();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  api_.setPersistentVolume(
      "pv-edited", vmDiskPv("pv-edited", volume, {{"polycsi.io/migration-timeout-seconds", "0"}}));
  api_.setVolumeAttachments(
      {kube::testing::volumeAttachment("csi-a", "polycsi.csi.io", "pv-edited", "node-a", true,
                                       "2026-01-01T10:00:00Z"),
       kube::testing::volumeAttachment("csi-b", "polycsi.csi.io", "pv-edited", "node-b", true,
                                       "2026-01-01T10:01:00Z")});
  driver_->stop(/*hard=*/true);
  loseAttachmentStore();
  driver_->start();
  EXPECT_EQ(publishedNodes(volume.volume_id()), (std::vector<std::string>{"node-a", "node-b"}));
  // The rebuilt window started with the target's VolumeAttachment, long ago: expired, with
  // the default 5-minute maximum.
  auto third = publish(volume, "node-c");
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(third.error_message().find(" 5m0s max)"), std::string::npos) << third.error_message();
  const std::string warning = eventMessage("InvalidMigrationTimeout");
  EXPECT_NE(warning.find("PersistentVolume pv-edited"), std::string::npos) << warning;
  EXPECT_NE(warning.find("default 300s window"), std::string::npos) << warning;
}

TEST_F(SampleMigrationTest, AttachmentWithoutVolumeAttachmentIsFencedAndForgotten) {
  auto volume = createVmDisk("pvc-forgotten", 300).volume();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  api_.setPersistentVolume("pv-forgotten", vmDiskPv("pv-forgotten", volume));
  // While the controller was down the source's VolumeAttachment went away without it.
  api_.setVolumeAttachments({kube::testing::volumeAttachment(
      "csi-target", "polycsi.csi.io", "pv-forgotten", "node-b", true, "2026-01-01T10:01:00Z")});
  driver_->stop(/*hard=*/true);
  driver_->start();
  // The first pass runs as the controller starts; wait (bounded) for it.
  std::vector<std::string> nodes;
  for (int i = 0; i < 200; ++i) {
    nodes = publishedNodes(volume.volume_id());
    if (nodes.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(nodes, std::vector<std::string>{"node-b"});
  // The backend fenced node-a (the sample plugin has nothing to fence), and no migration
  // outcome is counted for a detach the driver did not see. The gauges follow the record
  // just after it is persisted: wait (bounded) for that too.
  std::string scraped;
  for (int i = 0; i < 200; ++i) {
    scraped = metrics();
    if (scraped.find("sample_csi_migration_active_migrations 0") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(scraped.find("sample_csi_migration_migrations_total{result=\"success\"} 1"),
            std::string::npos)
      << scraped;
  EXPECT_EQ(scraped.find("sample_csi_migration_migrations_total{result=\"failed\"} 1"),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("sample_csi_migration_active_migrations 0"), std::string::npos) << scraped;
  EXPECT_TRUE(publish(volume, "node-c").ok()) << "a new migration may start from node-b";
}

TEST_F(SampleMigrationTest, ExpiredWindowRefusesNewNodesUntilTheSourceDetaches) {
  // 30 s is the shortest window a StorageClass may ask for.
  auto volume = createVmDisk("pvc-timeout", 30).volume();
  const std::string id = volume.volume_id();
  ASSERT_TRUE(publish(volume, "node-a").ok());
  ASSERT_TRUE(publish(volume, "node-b").ok());
  // The window ends at its expiry, whether or not anyone asks to attach: the outcome is
  // reported and counted once, while both nodes stay attached (the stuck-migration alert
  // watches the active gauge).
  std::this_thread::sleep_for(std::chrono::seconds(30));
  const std::string failed = eventMessage("MigrationFailed", 400);
  EXPECT_EQ(failed.rfind("[vm-disk]: KubeVirt live migration failed - source: node-a, attempted "
                         "target: node-b, reason: timeout, elapsed: ",
                         0),
            0u)
      << failed;
  EXPECT_EQ(eventCount("AttachmentConflict"), 0u) << "nobody asked to attach";
  std::string scraped = metrics();
  EXPECT_NE(scraped.find("sample_csi_migration_migrations_total{result=\"timeout\"} 1"),
            std::string::npos)
      << scraped;
  EXPECT_NE(scraped.find("sample_csi_migration_active_migrations 1"), std::string::npos) << scraped;
  auto late = publish(volume, "node-c");
  EXPECT_EQ(late.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(late.error_message().rfind("Volume " + id + " migration timeout exceeded (", 0), 0u)
      << late.error_message();
  EXPECT_NE(late.error_message().find(
                " elapsed, 30s max). Previous migration may be stuck. Detach source node to "
                "reset, or adjust migrationTimeoutSeconds in StorageClass."),
            std::string::npos)
      << late.error_message();
  EXPECT_EQ(
      eventMessage("MigrationFailed")
          .rfind("[vm-disk]: KubeVirt live migration failed - source: node-a, attempted target: "
                 "node-b, reason: timeout, elapsed: ",
                 0),
      0u);
  EXPECT_NE(metrics().find("sample_csi_migration_migrations_total{result=\"timeout\"} 1"),
            std::string::npos);
  // Detaching the source resets the volume to the target alone, with no second outcome.
  ASSERT_TRUE(unpublish(volume, "node-a").ok());
  EXPECT_EQ(publishedNodes(id), std::vector<std::string>{"node-b"});
  scraped = metrics();
  EXPECT_NE(scraped.find("sample_csi_migration_migrations_total{result=\"timeout\"} 1"),
            std::string::npos);
  EXPECT_NE(scraped.find("sample_csi_migration_migrations_total{result=\"success\"} 0"),
            std::string::npos);
  EXPECT_NE(scraped.find("sample_csi_migration_active_migrations 0"), std::string::npos);
  EXPECT_EQ(eventCount("MigrationFailed"), 1u);
  ASSERT_TRUE(publish(volume, "node-c").ok()) << "a new migration may start after the reset";
}

// After a start (the state store may have been lost), the controller does not decide a
// publish before it has rebuilt the attachments the cluster's VolumeAttachments record:
// until then it answers UNAVAILABLE (the attacher retries) and Probe says it is not ready.
TEST(ControllerStartTest, PublishesWaitUntilTheClusterAttachmentsAreRebuilt) {
  ASSERT_EQ(geteuid(), 0u) << "run as root";
  TempDir work;
  FakeKubeApi api(kToken);
  std::ofstream(work.str() + "/token") << kToken;
  api.enforceClusterRole(POLYCSI_CONTROLLER_RBAC, "polycsi-controller");
  api.failWith(503);  // the API server is not reachable yet
  DriverProcess driver(
      work.str(),
      "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
      "    settings:\n      directory: " +
          work.str() + "/volumes\n",
      "controller-0",
      std::vector<std::string>{"--mode", "controller", "--kubernetes-api", api.baseUrl(),
                               "--kubernetes-token-file", work.str() + "/token"});
  driver.start(DriverProcess::Wait::kAnswering);

  csi::v1::ProbeResponse probe;
  auto probeCtx = rpcContext();
  ASSERT_TRUE(driver.identity().Probe(probeCtx.get(), {}, &probe).ok());
  EXPECT_FALSE(probe.ready().value()) << "not ready before the attachments are known";

  // Provisioning does not depend on attachments.
  auto create =
      createRequest("pvc-rebuilt", 4 * kMiB, blockCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse created;
  auto createCtx = rpcContext();
  ASSERT_TRUE(driver.controller().CreateVolume(createCtx.get(), create, &created).ok());
  const std::string id = created.volume().volume_id();

  csi::v1::ControllerPublishVolumeRequest pub;
  pub.set_volume_id(id);
  pub.set_node_id("node-c");
  *pub.mutable_volume_capability() = blockCapability(Mode::MULTI_NODE_MULTI_WRITER);
  *pub.mutable_volume_context() = created.volume().volume_context();
  csi::v1::ControllerPublishVolumeResponse published;
  auto early = rpcContext();
  grpc::Status waiting = driver.controller().ControllerPublishVolume(early.get(), pub, &published);
  EXPECT_EQ(waiting.error_code(), StatusCode::UNAVAILABLE) << waiting.error_message();
  EXPECT_NE(waiting.error_message().find("VolumeAttachments"), std::string::npos)
      << waiting.error_message();
  csi::v1::ListVolumesResponse listed;
  auto listCtx = rpcContext();
  EXPECT_EQ(driver.controller().ListVolumes(listCtx.get(), {}, &listed).error_code(),
            StatusCode::UNAVAILABLE)
      << "published nodes are not known yet";
  csi::v1::DeleteVolumeRequest del;
  del.set_volume_id(id);
  csi::v1::DeleteVolumeResponse deleted;
  auto deleteCtx = rpcContext();
  EXPECT_EQ(driver.controller().DeleteVolume(deleteCtx.get(), del, &deleted).error_code(),
            StatusCode::UNAVAILABLE);

  // The cluster has the volume attached to node-a and migrating to node-b.
  nlohmann::json pv = kube::testing::csiPersistentVolume("pv-rebuilt", "polycsi.csi.io", id);
  for (const auto& [key, value] : created.volume().volume_context())
    pv["spec"]["csi"]["volumeAttributes"][key] = value;
  api.setPersistentVolume("pv-rebuilt", pv);
  api.setCsiNode("node-a", "polycsi.csi.io", "node-a");
  api.setCsiNode("node-b", "polycsi.csi.io", "node-b");
  api.setCsiNode("node-c", "polycsi.csi.io", "node-c");
  api.setVolumeAttachments(
      {kube::testing::volumeAttachment("csi-a", "polycsi.csi.io", "pv-rebuilt", "node-a", true,
                                       "2026-01-01T00:00:00Z"),
       kube::testing::volumeAttachment("csi-b", "polycsi.csi.io", "pv-rebuilt", "node-b", true,
                                       "2026-01-01T00:00:10Z")});
  api.failWith(0);
  bool ready = false;
  for (int i = 0; i < 200 && !ready; ++i) {
    auto ctx = rpcContext();
    ready = driver.identity().Probe(ctx.get(), {}, &probe).ok() && probe.ready().value();
    if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(ready) << driver.log();

  // Rebuilt: node-c is a third node. The window kept the target's creation time (long past),
  // so it has expired: the refusal is the timeout's.
  auto late = rpcContext();
  grpc::Status third = driver.controller().ControllerPublishVolume(late.get(), pub, &published);
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
  EXPECT_NE(third.error_message().find("migration timeout exceeded"), std::string::npos)
      << third.error_message();
  auto listAgain = rpcContext();
  ASSERT_TRUE(driver.controller().ListVolumes(listAgain.get(), {}, &listed).ok());
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).status().published_node_ids_size(), 2);
}

TEST_F(SampleMigrationTest, RwxFilesystemOnTheSamplePluginIsShared) {
  auto req = createRequest("pvc-shared", 4 * kMiB, mountCapability(Mode::MULTI_NODE_MULTI_WRITER));
  csi::v1::CreateVolumeResponse created;
  auto ctx = rpcContext();
  ASSERT_TRUE(driver_->controller().CreateVolume(ctx.get(), req, &created).ok());
  for (const char* node : {"node-a", "node-b", "node-c"}) {
    csi::v1::ControllerPublishVolumeRequest pub;
    pub.set_volume_id(created.volume().volume_id());
    pub.set_node_id(node);
    *pub.mutable_volume_capability() = mountCapability(Mode::MULTI_NODE_MULTI_WRITER);
    csi::v1::ControllerPublishVolumeResponse resp;
    auto c = rpcContext();
    EXPECT_TRUE(driver_->controller().ControllerPublishVolume(c.get(), pub, &resp).ok()) << node;
  }
  EXPECT_EQ(publishedNodes(created.volume().volume_id()).size(), 3u);
}

}  // namespace
}  // namespace polycsi::testing
