// No secret value ever leaves the driver. `polycsi serve` runs at debug log level with every
// kind of secret configured: rds_nvme against rds-sim with an SSH password and with an inline
// private key (and a wrong password), iscsi_powerstore against powerstore-sim with the array
// password (and a wrong one) and, on a node driver, CHAP towards the simulator's tgtd; nfs
// against nfs-ganesha; a Kubernetes bearer token for the fake API server; and secrets in the
// CSI requests' own `secrets` fields. Full lifecycles and failing calls later, every output is
// searched for every secret: stdout and stderr (the log), events posted to Kubernetes, the
// requests the API server saw, every gRPC response and error message, /metrics and /healthz,
// and every file the driver wrote in its state directory.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "fake_kube_api.hpp"
#include "ganesha_server.hpp"
#include "powerstore_sim_process.hpp"
#include "rds_sim_process.hpp"
#include "secret_scan.hpp"
#include "temp_directory.hpp"
#include "test_pki.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;
using kube::testing::FakeKubeApi;
using polycsi::testing::GaneshaServer;

constexpr char kBasePath[] = "/storage-pool/kubernetes-volumes";
constexpr char kNqnA[] = "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1111-4111-8111-000000000001";
constexpr char kNqnB[] = "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-2222-4222-8222-000000000002";
constexpr char kNqnC[] = "nqn.2014-08.org.nvmexpress:uuid:cccccccc-3333-4333-8333-000000000003";
constexpr char kIqnA[] = "iqn.1994-05.com.redhat:node-a";
constexpr int64_t kGiB = int64_t{1} << 30;

// Distinct, greppable values, each long enough that a match cannot be chance.
constexpr char kArrayPassword[] = "ps-Array-Passw0rd-7e1f";
constexpr char kWrongArrayPassword[] = "ps-Wrong-Passw0rd-51aa";
constexpr char kChapUser[] = "chapuser";
constexpr char kChapSecret[] = "chapSecret-4711";
constexpr char kKubeToken[] = "kube-Bearer-Token-9c2d0f7e";
constexpr char kWrongSshPassword[] = "ssh-Wrong-Passw0rd-3b9e";
constexpr char kRequestSecret[] = "csi-Request-Secret-18d2";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string indent(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += prefix + line + "\n";
  return out;
}

class SecretsInOutputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "run as root: nfs-ganesha and tgtd need it";
    const std::string reason = GaneshaServer::unavailableReason();
    ASSERT_TRUE(reason.empty()) << "prerequisite missing (scripts/install-deps.sh): " << reason;

    rds_ = std::make_unique<RdsSimProcess>(work_.str() + "/rds");
    rds_->start();
    pki_ = polycsi::testing::makeTestPki(work_.str());
    powerstore_ = std::make_unique<SimProcess>(
        POWERSTORE_SIM_BINARY,
        std::vector<std::string>{"--cert", pki_.server_cert.string(), "--key",
                                 pki_.server_key.string(), "--state-dir", work_.str() + "/ps",
                                 "--password", kArrayPassword, "--global-id", kGlobalId,
                                 "--chap-user", kChapUser, "--chap-password", kChapSecret});
    ganesha_ = std::make_unique<GaneshaServer>();
    ganesha_->start();

    privateKey_ = readFile(rds_->clientKeyFile());
    ASSERT_NE(privateKey_.find("PRIVATE KEY"), std::string::npos) << privateKey_;
    secrets_ = {RdsSimProcess::kPassword, kWrongSshPassword, kArrayPassword,
                kWrongArrayPassword,      kChapSecret,       kKubeToken,
                kRequestSecret,           privateKey_};
    // Each line of the key's body too: a log could print one line of it.
    std::istringstream lines(privateKey_);
    for (std::string line; std::getline(lines, line);)
      if (line.size() >= 20 && line.find("-----") == std::string::npos) secrets_.push_back(line);
  }

  void TearDown() override {
    if (HasFailure()) {
      if (controller_) std::cerr << "controller log:\n" << controller_->log();
      if (node_) std::cerr << "node log:\n" << node_->log();
    }
    controller_.reset();
    node_.reset();
    ganesha_.reset();
    powerstore_.reset();
    rds_.reset();
  }

  std::string rdsSettings(const std::string& credentials) const {
    return "      address: 127.0.0.1\n      port: " + std::to_string(rds_->port()) +
           "\n      user: " + RdsSimProcess::kUser + "\n" + credentials +
           "      host_key_fingerprint: \"" + rds_->hostKeyFingerprint() +
           "\"\n      base_path: " + kBasePath + "\n      orphan_scan_interval_seconds: 0\n";
  }
  std::string powerstoreSettings(const std::string& password, const std::string& extra) const {
    return "      ca_file: " + pki_.ca_cert.string() + "\n" + extra +
           arraySettings(*powerstore_, password);
  }
  std::string backend(const std::string& name, const std::string& plugin,
                      const std::string& settings, bool isDefault = false) const {
    return "  - name: " + name + "\n    plugin: " + plugin + "\n" +
           (isDefault ? "    default: true\n" : "") + "    settings:\n" + settings;
  }

  void startController() {
    std::ofstream(work_.str() + "/token") << kKubeToken;
    metricsPort_ = freeLoopbackPort();
    const std::string config =
        "backends:\n" +
        backend("rds-pw", "rds_nvme",
                rdsSettings("      password: " + std::string(RdsSimProcess::kPassword) + "\n"),
                true) +
        backend("rds-key", "rds_nvme",
                rdsSettings("      private_key: |\n" + indent(privateKey_, "        "))) +
        backend("rds-bad", "rds_nvme",
                rdsSettings("      password: " + std::string(kWrongSshPassword) + "\n")) +
        backend("ps", "iscsi_powerstore", powerstoreSettings(kArrayPassword, "")) +
        backend("ps-bad", "iscsi_powerstore", powerstoreSettings(kWrongArrayPassword, "")) +
        backend("nas", "nfs",
                "      server: 127.0.0.1\n      share: " + std::string(GaneshaServer::share()) +
                    "\n      nfs_version: \"4\"\n      nfs_port: " +
                    std::to_string(ganesha_->nfsPort()) + "\n");
    controller_ = std::make_unique<DriverProcess>(
        work_.str() + "/controller", config, "controller-0",
        std::vector<std::string>{"--mode", "controller", "--metrics-address",
                                 "127.0.0.1:" + std::to_string(metricsPort_), "--kubernetes-api",
                                 kube_.baseUrl(), "--kubernetes-token-file",
                                 work_.str() + "/token"});
    controller_->start();
  }
  void startNode() {
    std::ofstream(work_.str() + "/initiatorname.iscsi") << "InitiatorName=" << kIqnA << "\n";
    const std::string chap = "      chap_user: " + std::string(kChapUser) +
                             "\n      chap_password: " + kChapSecret +
                             "\n      initiator_name_file: " + work_.str() +
                             "/initiatorname.iscsi\n      device_wait_timeout_ms: 1000\n"
                             "      iscsi_node_db_dir: " +
                             work_.str() + "/iscsi-nodes\n";
    node_ = std::make_unique<DriverProcess>(
        work_.str() + "/node",
        "backends:\n" +
            backend("ps", "iscsi_powerstore", powerstoreSettings(kArrayPassword, chap), true),
        "node-a", std::vector<std::string>{"--mode", "node"});
    node_->start();
  }

  // Records what came back, so it can be searched as well.
  void keep(const std::string& what, const grpc::Status& status,
            const google::protobuf::Message& response) {
    seen_ += what + ": " + std::to_string(status.error_code()) + " " + status.error_message() +
             " " + status.error_details() + "\n" + response.DebugString() + "\n";
  }
  grpc::Status create(const std::string& name, const std::map<std::string, std::string>& params,
                      const csi::v1::VolumeCapability& cap, csi::v1::Volume* out,
                      int64_t bytes = kGiB) {
    auto req = createRequest(name, bytes, cap);
    for (const auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    (*req.mutable_secrets())["password"] = kRequestSecret;
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = controller_->controller().CreateVolume(ctx.get(), req, &resp);
    keep("CreateVolume " + name, s, resp);
    if (out) *out = resp.volume();
    return s;
  }
  grpc::Status publish(const csi::v1::Volume& v, const std::string& node,
                       const csi::v1::VolumeCapability& cap,
                       csi::v1::ControllerPublishVolumeResponse* out = nullptr) {
    csi::v1::ControllerPublishVolumeRequest req;
    req.set_volume_id(v.volume_id());
    req.set_node_id(node);
    *req.mutable_volume_capability() = cap;
    *req.mutable_volume_context() = v.volume_context();
    (*req.mutable_secrets())["token"] = kRequestSecret;
    csi::v1::ControllerPublishVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = controller_->controller().ControllerPublishVolume(ctx.get(), req, &resp);
    keep("ControllerPublishVolume " + v.volume_id() + " " + node, s, resp);
    if (out) *out = resp;
    return s;
  }
  grpc::Status unpublish(const csi::v1::Volume& v, const std::string& node) {
    csi::v1::ControllerUnpublishVolumeRequest req;
    req.set_volume_id(v.volume_id());
    req.set_node_id(node);
    (*req.mutable_secrets())["token"] = kRequestSecret;
    csi::v1::ControllerUnpublishVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = controller_->controller().ControllerUnpublishVolume(ctx.get(), req, &resp);
    keep("ControllerUnpublishVolume " + v.volume_id() + " " + node, s, resp);
    return s;
  }
  grpc::Status deleteVolume(const std::string& id) {
    csi::v1::DeleteVolumeRequest req;
    req.set_volume_id(id);
    (*req.mutable_secrets())["password"] = kRequestSecret;
    csi::v1::DeleteVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = controller_->controller().DeleteVolume(ctx.get(), req, &resp);
    keep("DeleteVolume " + id, s, resp);
    return s;
  }
  std::string httpGet(const std::string& path) {
    httplib::Client client("127.0.0.1", metricsPort_);
    client.set_connection_timeout(5);
    client.set_read_timeout(10);
    auto res = client.Get(path);
    EXPECT_TRUE(res) << path << " unreachable";
    EXPECT_EQ(res ? res->status : 0, 200) << path;
    return res ? res->body : "";
  }

  TempDir work_;
  FakeKubeApi kube_{kKubeToken};
  std::unique_ptr<RdsSimProcess> rds_;
  polycsi::testing::TestPki pki_;
  std::unique_ptr<SimProcess> powerstore_;
  std::unique_ptr<GaneshaServer> ganesha_;
  std::unique_ptr<DriverProcess> controller_;
  std::unique_ptr<DriverProcess> node_;
  int metricsPort_ = 0;
  std::string privateKey_;
  std::vector<std::string> secrets_;
  std::string seen_;  // every gRPC answer, as text
};

TEST_F(SecretsInOutputTest, NoSecretInLogsEventsErrorsMetricsOrState) {
  std::filesystem::create_directories(work_.str() + "/controller");
  std::filesystem::create_directories(work_.str() + "/node");
  std::filesystem::create_directories(work_.str() + "/iscsi-nodes");
  startController();
  const std::string nodeA = std::string("node-a|rds_nvme=") + kNqnA + "|iscsi_powerstore=" + kIqnA;
  const std::string nodeB = std::string("node-b|rds_nvme=") + kNqnB;
  const std::string nodeC = std::string("node-c|rds_nvme=") + kNqnC;
  // The nodes as kubelet registered their plugins (the controller publishes only to those).
  kube_.setCsiNode("node-a", "polycsi.csi.io", nodeA);
  kube_.setCsiNode("node-b", "polycsi.csi.io", nodeB);
  kube_.setCsiNode("node-c", "polycsi.csi.io", nodeC);
  const auto rwxBlock = blockCapability(Mode::MULTI_NODE_MULTI_WRITER);
  const auto rwoBlock = blockCapability(Mode::SINGLE_NODE_WRITER);

  // rds_nvme, password login: a KubeVirt disk migrates (events go to the fake API), a third
  // node is refused, then everything is undone.
  csi::v1::Volume vm;
  ASSERT_TRUE(create("pvc-vm-disk",
                     {{"backend", "rds-pw"},
                      {"csi.storage.k8s.io/pvc/name", "vm-disk"},
                      {"csi.storage.k8s.io/pvc/namespace", "vms"}},
                     rwxBlock, &vm)
                  .ok())
      << seen_;
  EXPECT_TRUE(publish(vm, nodeA, rwxBlock).ok()) << seen_;
  EXPECT_TRUE(publish(vm, nodeB, rwxBlock).ok()) << seen_;
  EXPECT_EQ(publish(vm, nodeC, rwxBlock).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(unpublish(vm, nodeA).ok()) << seen_;
  EXPECT_TRUE(unpublish(vm, nodeB).ok()) << seen_;
  {
    csi::v1::ControllerExpandVolumeRequest req;
    req.set_volume_id(vm.volume_id());
    req.mutable_capacity_range()->set_required_bytes(2 * kGiB);
    (*req.mutable_secrets())["password"] = kRequestSecret;
    csi::v1::ControllerExpandVolumeResponse resp;
    auto ctx = rpcContext();
    keep("ControllerExpandVolume",
         controller_->controller().ControllerExpandVolume(ctx.get(), req, &resp), resp);
  }
  EXPECT_TRUE(deleteVolume(vm.volume_id()).ok()) << seen_;

  // rds_nvme, inline private key.
  csi::v1::Volume keyed;
  ASSERT_TRUE(create("pvc-key-login", {{"backend", "rds-key"}}, rwoBlock, &keyed).ok()) << seen_;
  EXPECT_TRUE(publish(keyed, nodeA, rwoBlock).ok()) << seen_;
  EXPECT_EQ(publish(keyed, nodeB, rwoBlock).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(unpublish(keyed, nodeA).ok()) << seen_;
  EXPECT_TRUE(deleteVolume(keyed.volume_id()).ok()) << seen_;

  // iscsi_powerstore: a full controller lifecycle; the publish context goes to the node driver.
  csi::v1::Volume lun;
  ASSERT_TRUE(
      create("pvc-lun", {{"backend", "ps"}, {"arrayID", kGlobalId}}, rwoBlock, &lun, 4 << 20).ok())
      << seen_;
  csi::v1::ControllerPublishVolumeResponse published;
  EXPECT_TRUE(publish(lun, nodeA, rwoBlock, &published).ok()) << seen_;

  // nfs.
  csi::v1::Volume share;
  ASSERT_TRUE(create("pvc-share", {{"backend", "nas"}},
                     mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs"), &share, 1 << 20)
                  .ok())
      << seen_;
  EXPECT_TRUE(deleteVolume(share.volume_id()).ok()) << seen_;

  // Failing calls: wrong credentials, refused parameters, ids that are not ours.
  EXPECT_FALSE(create("pvc-wrong-ssh", {{"backend", "rds-bad"}}, rwoBlock, nullptr).ok());
  EXPECT_FALSE(create("pvc-wrong-array", {{"backend", "ps-bad"}}, rwoBlock, nullptr, 4 << 20).ok());
  EXPECT_EQ(create("pvc-bad-param", {{"backend", "rds-pw"}, {"rdsAddress", "10.9.9.9"}}, rwoBlock,
                   nullptr)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("pvc-bad-array", {{"backend", "ps"}, {"arrayID", "nope"}}, rwoBlock, nullptr)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create("pvc-escape", {{"backend", "nas"}, {"subDir", "../escape"}},
                   mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs"), nullptr, 1 << 20)
                .error_code(),
            StatusCode::INVALID_ARGUMENT);
  // CSI: deleting an id that cannot exist is success; the reason is still logged.
  EXPECT_TRUE(deleteVolume("rds-pw:not a volume id").ok()) << seen_;
  EXPECT_EQ(deleteVolume(std::string("ps:") + kGlobalId + ".no-such-uuid").error_code(),
            StatusCode::INVALID_ARGUMENT);

  // The node driver: CHAP is configured; staging the LUN fails on this machine (no kernel
  // initiator or no iscsiadm) and its error must not carry the CHAP secret either.
  startNode();
  {
    csi::v1::NodeStageVolumeRequest req;
    req.set_volume_id(lun.volume_id());
    req.set_staging_target_path(work_.str() + "/node/staging/lun");
    *req.mutable_volume_capability() = rwoBlock;
    *req.mutable_publish_context() = published.publish_context();
    *req.mutable_volume_context() = lun.volume_context();
    (*req.mutable_secrets())["chap"] = kRequestSecret;
    std::filesystem::create_directories(req.staging_target_path());
    csi::v1::NodeStageVolumeResponse resp;
    auto ctx = rpcContext();
    grpc::Status s = node_->node().NodeStageVolume(ctx.get(), req, &resp);
    keep("NodeStageVolume", s, resp);
    EXPECT_FALSE(s.ok()) << "staging an iSCSI LUN cannot succeed without a kernel initiator";
  }
  {
    csi::v1::NodeGetInfoResponse resp;
    auto ctx = rpcContext();
    keep("NodeGetInfo", node_->node().NodeGetInfo(ctx.get(), {}, &resp), resp);
  }
  EXPECT_TRUE(unpublish(lun, nodeA).ok()) << seen_;
  EXPECT_TRUE(deleteVolume(lun.volume_id()).ok()) << seen_;

  const std::string metrics = httpGet("/metrics");
  EXPECT_NE(metrics.find("rds_csi_migration_migrations_total"), std::string::npos);
  const std::string health = httpGet("/healthz");
  std::string events;
  for (int i = 0; i < 100 && events.find("MigrationCompleted") == std::string::npos; ++i) {
    events.clear();
    for (const auto& e : kube_.events()) events += e.body.dump() + "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(events.find("MigrationStarted"), std::string::npos) << events;
  std::string apiRequests;
  for (const auto& r : kube_.requests()) apiRequests += r + "\n";
  controller_->stop();
  node_->stop();

  const std::string controllerLog = controller_->log();
  const std::string nodeLog = node_->log();
  // The runs did log at debug level, so a clean scan means something.
  EXPECT_NE(controllerLog.find(" debug ControllerPublishVolume "), std::string::npos)
      << controllerLog;
  EXPECT_NE(controllerLog.find("pvc-vm-disk"), std::string::npos);

  std::vector<SecretLeak> leaks;
  auto add = [&](std::vector<SecretLeak> found) {
    leaks.insert(leaks.end(), found.begin(), found.end());
  };
  add(findSecrets(controllerLog, secrets_, "controller log"));
  add(findSecrets(nodeLog, secrets_, "node log"));
  add(findSecrets(seen_, secrets_, "gRPC answers"));
  add(findSecrets(events, secrets_, "Kubernetes events"));
  add(findSecrets(apiRequests, secrets_, "Kubernetes API requests"));
  add(findSecrets(metrics, secrets_, "/metrics"));
  add(findSecrets(health, secrets_, "/healthz"));
  add(findSecretsInFiles(work_.str() + "/controller/state", secrets_));
  add(findSecretsInFiles(work_.str() + "/node/state", secrets_));
  EXPECT_TRUE(leaks.empty()) << describe(leaks);
}

}  // namespace
}  // namespace polycsi::testing
