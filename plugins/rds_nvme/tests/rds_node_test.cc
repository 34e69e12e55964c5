// The node half of the rds_nvme backend through its C ABI (FakeHost), on a fake sysfs tree:
// reuse, ownership, refcounting by staging path, health, and, inside a private mount
// namespace, the connect string libnvme writes to /dev/nvme-fabrics.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "connection_record.hpp"
#include "fake_sysfs.hpp"
#include "private_dev.hpp"
#include "rds_backend.hpp"
#include "rds_test_env.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

namespace fs = std::filesystem;

constexpr char kVolume[] = "pvc-a";
constexpr char kVolumeNqn[] = "nqn.2000-02.com.mikrotik:pvc-a";
constexpr char kOtherNqn[] = "nqn.2000-02.com.mikrotik:pvc-b";
constexpr char kForeignNqn[] = "nqn.2014-08.org.example:array-7";
constexpr char kRds[] = "10.42.68.1";
constexpr char kHostNqn[] = "nqn.2014-08.org.nvmexpress:uuid:5e1f0000-1111-2222-3333-444455556666";
constexpr char kHostId[] = "5e1f0000-1111-2222-3333-444455556666";

class RdsNodeTest : public RdsBackendTest {
 protected:
  void SetUp() override {
    RdsBackendTest::SetUp();
    nodePaths_ = {fake_.sysRoot().string(), fake_.devDir().string()};
    fs::create_directories(stateDir_.path() / "etc-nvme");
    std::ofstream(hostNqnFile()) << kHostNqn << "\n";
  }

  fs::path hostNqnFile() const { return stateDir_.path() / "etc-nvme" / "hostnqn"; }
  StringMap nodeSettings() const { return {{"host_nqn_file", hostNqnFile().string()}}; }
  PluginInstance& startNode(StringMap extra = {}) {
    StringMap settings = nodeSettings();
    for (auto& [k, v] : extra) settings[k] = v;
    return start(settings, Role::kNode);
  }

  static AttachRequest attachRequest(const std::string& stagingPath,
                                     const std::string& nqn = kVolumeNqn,
                                     const std::string& volumeId = kVolume) {
    AttachRequest req;
    req.call.timeout = std::chrono::seconds(20);
    req.volumeId = volumeId;
    req.volumeMode = VolumeMode::kBlock;
    req.volumeContext = {{"nqn", nqn}, {"nvmeAddress", kRds}, {"nvmePort", "4420"}};
    req.stagingPath = stagingPath;
    return req;
  }
  static DetachRequest detachRequest(const std::string& stagingPath,
                                     const std::string& volumeId = kVolume) {
    DetachRequest req;
    req.volumeId = volumeId;
    req.stagingPath = stagingPath;
    return req;
  }
  // The driver's record as an earlier run of it left it.
  void recordEarlierRun(SubsystemRecord entry) { ConnectionRecord(stateDir_.path()).put(entry); }
  std::optional<SubsystemRecord> recorded(const std::string& nqn = kVolumeNqn) {
    return ConnectionRecord(stateDir_.path()).find(nqn);
  }
  std::string device(const std::string& name) const { return (fake_.devDir() / name).string(); }

  FakeSysfs fake_;
};

TEST_F(RdsNodeTest, NodeIdentityIsTheHostNqnFromTheFile) {
  startNode();
  auto identity = backend_->nodeIdentity(Call{});
  ASSERT_TRUE(identity.isOk()) << identity.status().toString();
  EXPECT_EQ(*identity, kHostNqn);
}

TEST_F(RdsNodeTest, NodeIdentityIsGeneratedAndStoredWhenTheFileIsMissing) {
  fs::path file = stateDir_.path() / "fresh" / "nvme" / "hostnqn";
  start({{"host_nqn_file", file.string()}}, Role::kNode);
  auto identity = backend_->nodeIdentity(Call{});
  ASSERT_TRUE(identity.isOk()) << identity.status().toString();
  EXPECT_EQ(identity->rfind("nqn.2014-08.org.nvmexpress:uuid:", 0), 0u) << *identity;
  std::ifstream in(file);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(stored, *identity);
}

TEST_F(RdsNodeTest, NodeSettingsAreChecked) {
  auto code = [&](StringMap extra) {
    StringMap settings = baseSettings();
    for (auto& [k, v] : extra) settings[k] = v;
    auto started = tryStart(settings, Role::kNode);
    return started.isOk() ? Code::kOk : started.status().code();
  };
  EXPECT_EQ(code({{"ctrl_loss_tmo_seconds", "0"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"ctrl_loss_tmo_seconds", "-1"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"reconnect_delay_seconds", "700"}, {"ctrl_loss_tmo_seconds", "600"}}),
            Code::kInvalidArgument);
  EXPECT_EQ(code({{"keep_alive_tmo_seconds", "x"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"device_timeout_seconds", "601"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"host_nqn_file", "relative/hostnqn"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"ctrl_loss_tmo_seconds", "1800"},
                  {"reconnect_delay_seconds", "5"},
                  {"keep_alive_tmo_seconds", "10"},
                  {"device_timeout_seconds", "60"}}),
            Code::kOk);
}

TEST_F(RdsNodeTest, AttachRefusesAVolumeContextThatIsMissingOrUnsafe) {
  startNode();
  AttachRequest missing = attachRequest("/stage/one");
  missing.volumeContext.erase("nqn");
  auto a = backend_->attach(missing);
  ASSERT_FALSE(a.isOk());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("'nqn'"), std::string::npos) << a.status().message();
  // A comma would add options to libnvme's connect string.
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"nqn", std::string(kVolumeNqn) + ",hostnqn=nqn.2014-08.evil:x"},
           {"nvmeAddress", "10.42.68.1,trsvcid=1"},
           {"nvmePort", "4420,ctrl_loss_tmo=-1"}}) {
    AttachRequest bad = attachRequest("/stage/one");
    bad.volumeContext[key] = value;
    auto r = backend_->attach(bad);
    ASSERT_FALSE(r.isOk()) << key;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << key;
  }
  EXPECT_FALSE(recorded().has_value());
}

// The publish context's path list is validated like the volume context's address: an entry
// that is not a host address (here one that would add a connect option) is refused before any
// connect, and the message names the key.
TEST_F(RdsNodeTest, AttachRefusesAnUnsafePublishedPathList) {
  startNode();
  AttachRequest req = attachRequest("/stage/one");
  req.publishContext = {{"nvmeAddresses", "10.42.68.1,10.42.69.1,trsvcid=1"}};
  auto a = backend_->attach(req);
  ASSERT_FALSE(a.isOk());
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_NE(a.status().message().find("publish context nvmeAddresses"), std::string::npos)
      << a.status().message();
  EXPECT_FALSE(recorded().has_value());
}

// A multipath subsystem with the driver's controller nvme1 and a second path nvme2 someone else
// added, a foreign array on nvme4 and a local PCIe disk: two staging paths share nvme1, and only
// the last detach disconnects it; nothing else is ever touched.
TEST_F(RdsNodeTest, OwnedControllerIsSharedByStagingPathsAndDisconnectedAfterTheLast) {
  fake_.addController("nvme0", "nqn.2014.08.org.nvmexpress:8086SSD", "pcie", "", "");
  fake_.addController("nvme1", kVolumeNqn, "tcp", kRds, "4420");
  fake_.addController("nvme2", kVolumeNqn, "tcp", "10.42.69.1", "4420");
  fake_.addController("nvme4", kForeignNqn, "tcp", "192.168.5.5", "4420");
  fake_.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1", "nvme2"}, {"nvme1n1"});
  fake_.addSubsystem("nvme-subsys4", kForeignNqn, {"nvme4"}, {"nvme4n1"});
  fake_.addDevice("nvme1n1");
  fake_.addDevice("nvme4n1");
  recordEarlierRun({kVolumeNqn, kVolume, {kRds}, "4420", {{"nvme1", true, kRds}}, {}, false});
  startNode();

  auto first = backend_->attach(attachRequest("/stage/one"));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(first->kind, Attachment::Kind::kBlockDevice);
  EXPECT_EQ(first->devicePath, device("nvme1n1"));
  auto second = backend_->attach(attachRequest("/stage/two"));
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(second->devicePath, device("nvme1n1"));
  // Attaching again for the same path is idempotent.
  ASSERT_TRUE(backend_->attach(attachRequest("/stage/two")).isOk());
  EXPECT_EQ(recorded()->stagingPaths, (std::set<std::string>{"/stage/one", "/stage/two"}));

  ASSERT_TRUE(backend_->detach(detachRequest("/stage/one")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "");
  EXPECT_EQ(recorded()->stagingPaths, std::set<std::string>{"/stage/two"});

  ASSERT_TRUE(backend_->detach(detachRequest("/stage/two")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
  EXPECT_EQ(fake_.deleteRequests("nvme0"), "");
  EXPECT_EQ(fake_.deleteRequests("nvme2"), "");
  EXPECT_EQ(fake_.deleteRequests("nvme4"), "");
  EXPECT_FALSE(recorded().has_value());

  // Detached already: success, and nothing is written again.
  ASSERT_TRUE(backend_->detach(detachRequest("/stage/two")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
}

TEST_F(RdsNodeTest, AConnectionTheDriverDidNotMakeIsUsedButNeverDisconnected) {
  // Someone connected the volume's subsystem by hand (nvme-cli) before the driver came.
  fake_.addController("nvme7", kVolumeNqn, "tcp", kRds, "4420");
  fake_.addController("nvme8", kOtherNqn, "tcp", kRds, "4420");
  fake_.addSubsystem("nvme-subsys7", kVolumeNqn, {"nvme7"}, {"nvme7n1"});
  fake_.addDevice("nvme7n1");
  startNode();
  auto a = backend_->attach(attachRequest("/stage/one"));
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ(a->devicePath, device("nvme7n1"));
  EXPECT_TRUE(host_.logged("did not make"));
  ASSERT_TRUE(recorded().has_value());
  EXPECT_EQ(recorded()->controllers, (std::vector<RecordedController>{{"nvme7", false, kRds}}));

  ASSERT_TRUE(backend_->detach(detachRequest("/stage/one")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme7"), "");
  EXPECT_EQ(fake_.deleteRequests("nvme8"), "");
  EXPECT_FALSE(recorded().has_value());
}

TEST_F(RdsNodeTest, AControllerLeftByAnInterruptedConnectIsAdoptedAsOwned) {
  fake_.addController("nvme3", kVolumeNqn, "tcp", kRds, "4420");
  fake_.addSubsystem("nvme-subsys3", kVolumeNqn, {"nvme3"}, {"nvme3n1"});
  fake_.addDevice("nvme3n1");
  recordEarlierRun({kVolumeNqn, kVolume, {kRds}, "4420", {}, {"/stage/one"}, true});
  startNode();
  auto a = backend_->attach(attachRequest("/stage/one"));
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ(recorded()->controllers, (std::vector<RecordedController>{{"nvme3", true, kRds}}));
  EXPECT_FALSE(recorded()->connecting);
  ASSERT_TRUE(backend_->detach(detachRequest("/stage/one")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme3"), "1");
}

TEST_F(RdsNodeTest, ARecordedNameNowUsedByAnotherConnectionIsNotDisconnected) {
  // nvme1 was ours, the kernel removed it, and the name went to an unrelated connection.
  fake_.addController("nvme1", kForeignNqn, "tcp", "192.168.5.5", "4420");
  recordEarlierRun(
      {kVolumeNqn, kVolume, {kRds}, "4420", {{"nvme1", true, kRds}}, {"/stage/one"}, false});
  startNode();
  ASSERT_TRUE(backend_->detach(detachRequest("/stage/one")).isOk());
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "");
  EXPECT_FALSE(recorded().has_value());
}

TEST_F(RdsNodeTest, AForeignControllerThatIsNotLiveIsAClearPrecondition) {
  fake_.addController("nvme5", kVolumeNqn, "tcp", kRds, "4420", "connecting");
  startNode();
  auto a = backend_->attach(attachRequest("/stage/one"));
  ASSERT_FALSE(a.isOk());
  EXPECT_EQ(a.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(a.status().message().find("nvme5 (connecting)"), std::string::npos)
      << a.status().message();
  EXPECT_NE(a.status().message().find("not connected by this driver"), std::string::npos);
  EXPECT_EQ(fake_.deleteRequests("nvme5"), "");
}

TEST_F(RdsNodeTest, VolumeConditionReportsDeadControllersAndVanishedDevices) {
  fake_.addController("nvme1", kVolumeNqn, "tcp", kRds, "4420");
  fake_.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1"}, {"nvme1n1"});
  fake_.addDevice("nvme1n1");
  recordEarlierRun({kVolumeNqn, kVolume, {kRds}, "4420", {{"nvme1", true, kRds}}, {}, false});
  startNode();
  EXPECT_TRUE(backend_->features().volumeCondition);
  ASSERT_TRUE(backend_->attach(attachRequest("/stage/one")).isOk());

  auto healthy = backend_->volumeCondition(detachRequest("/stage/one"));
  ASSERT_TRUE(healthy.isOk()) << healthy.status().toString();
  EXPECT_FALSE(healthy->abnormal) << healthy->message;
  EXPECT_NE(healthy->message.find("nvme1"), std::string::npos);

  fake_.setState("nvme1", "connecting");
  auto reconnecting = backend_->volumeCondition(detachRequest("/stage/one"));
  ASSERT_TRUE(reconnecting.isOk());
  EXPECT_TRUE(reconnecting->abnormal);
  EXPECT_NE(reconnecting->message.find("nvme1 is connecting"), std::string::npos)
      << reconnecting->message;

  fake_.removeController("nvme1");
  auto gone = backend_->volumeCondition(detachRequest("/stage/one"));
  EXPECT_TRUE(gone->abnormal);
  EXPECT_NE(gone->message.find("nvme1 is gone"), std::string::npos) << gone->message;

  fake_.addController("nvme1", kVolumeNqn, "tcp", kRds, "4420");
  fake_.removeDevice("nvme1n1");
  auto noDevice = backend_->volumeCondition(detachRequest("/stage/one"));
  EXPECT_TRUE(noDevice->abnormal);
  EXPECT_NE(noDevice->message.find("block device"), std::string::npos) << noDevice->message;

  auto unknown = backend_->volumeCondition(detachRequest("/stage/x", "pvc-unknown"));
  EXPECT_TRUE(unknown->abnormal);
  EXPECT_NE(unknown->message.find("no NVMe/TCP connection recorded"), std::string::npos);
}

TEST_F(RdsNodeTest, NodeCallsNeedTheNodeRole) {
  start();  // controller only
  auto a = backend_->attach(attachRequest("/stage/one"));
  ASSERT_FALSE(a.isOk());
  EXPECT_EQ(a.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(a.status().message().find("node role"), std::string::npos);
}

// ---- in a private mount namespace: /dev is an empty tmpfs ----

class RdsNodeNamespaceTest : public RdsNodeTest {
 protected:
  // Runs `body` in the child and returns its output; skips when namespaces are unavailable.
  std::optional<std::string> inPrivateDev(const std::function<std::string()>& body) {
    PrivateDevRun run = runWithPrivateDev(body);
    if (run.unavailable) return std::nullopt;
    EXPECT_TRUE(run.ran) << run.problem;
    return run.output;
  }
  // Attaches in the child and reports "<code>\n<message>\n<what /dev/nvme-fabrics holds>".
  std::string attachAndReport(StringMap extra, bool fabricsFile,
                              std::optional<AttachRequest> request = std::nullopt) {
    if (fabricsFile) std::ofstream("/dev/nvme-fabrics").flush();
    auto started = tryStart(
        [&] {
          StringMap s = nodeSettings();
          for (auto& [k, v] : extra) s[k] = v;
          return s;
        }(),
        Role::kNode);
    if (!started.isOk()) return "start failed: " + started.status().toString();
    auto backend = std::move(started).value();
    AttachRequest req = request ? *request : attachRequest("/stage/one");
    req.call.timeout = std::chrono::seconds(10);
    auto attached = backend->attach(req);
    std::stringstream fabrics;
    fabrics << std::ifstream("/dev/nvme-fabrics").rdbuf();
    return std::string(codeName(attached.isOk() ? Code::kOk : attached.status().code())) + "\n" +
           (attached.isOk() ? attached->devicePath : attached.status().message()) + "\n" +
           fabrics.str();
  }
};

TEST_F(RdsNodeNamespaceTest, MissingFabricsDeviceNamesTheKernelModule) {
  auto output = inPrivateDev([&] { return attachAndReport({}, false); });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  EXPECT_EQ(*output,
            "FAILED_PRECONDITION\n"
            "NVMe over Fabrics is not available on this node: /dev/nvme-fabrics is missing; load "
            "the nvme-tcp kernel module (modprobe nvme-tcp)\n");
  EXPECT_FALSE(recorded().has_value());
}

TEST_F(RdsNodeNamespaceTest, ConnectWritesExactlyThisStringToNvmeFabrics) {
  std::ofstream(hostNqnFile().parent_path() / "hostid") << kHostId << "\n";
  auto output = inPrivateDev([&] {
    return attachAndReport({{"ctrl_loss_tmo_seconds", "900"},
                            {"reconnect_delay_seconds", "3"},
                            {"keep_alive_tmo_seconds", "7"}},
                           true);
  });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  std::stringstream lines(*output);
  std::string code, message, written;
  std::getline(lines, code);
  std::getline(lines, message);
  std::getline(lines, written, '\0');
  EXPECT_EQ(written, std::string("nqn=nqn.2000-02.com.mikrotik:pvc-a,transport=tcp,"
                                 "traddr=10.42.68.1,trsvcid=4420,hostnqn=") +
                         kHostNqn + ",hostid=" + kHostId +
                         ",keep_alive_tmo=7,reconnect_delay=3,ctrl_loss_tmo=900");
  // A plain file answers no "instance=N": the attach fails clearly, and leaves no record.
  EXPECT_EQ(code, "UNAVAILABLE");
  EXPECT_NE(message.find("NVMe/TCP connect to nqn.2000-02.com.mikrotik:pvc-a at 10.42.68.1:4420 "
                         "failed"),
            std::string::npos)
      << message;
  EXPECT_FALSE(recorded().has_value());
}

// A PV rds-csi made (github.com/3whiskeywhiskey/rds-csi at 97597243, pkg/driver/controller.go
// CreateVolume) carries this volume context; NodeStage connects the NQN, address and port it
// names, with its per-volume connect tuning (nvme_connect_tuning.hpp): reconnect forever
// (-1), every 5 s, and the kernel's keep-alive (0: libnvme leaves keep_alive_tmo out).
TEST_F(RdsNodeNamespaceTest, AVolumeContextRdsCsiMadeConnectsItsSubsystem) {
  const std::string id = "pvc-3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c";
  AttachRequest req =
      attachRequest("/stage/one", std::string("nqn.2000-02.com.mikrotik:") + id, id);
  req.volumeContext = {{"rdsAddress", "10.42.241.3"},
                       {"nvmeAddress", "10.42.68.1"},
                       {"nvmePort", "4420"},
                       {"nqn", "nqn.2000-02.com.mikrotik:" + id},
                       {"volumePath", "/storage-pool/metal-csi/" + id + ".img"},
                       {"ctrlLossTmo", "-1"},
                       {"reconnectDelay", "5"},
                       {"keepAliveTmo", "0"},
                       {"migrationTimeoutSeconds", "300"}};
  auto output = inPrivateDev([&] { return attachAndReport({}, true, req); });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  EXPECT_NE(output->find("nqn=nqn.2000-02.com.mikrotik:" + id +
                         ",transport=tcp,traddr=10.42.68.1,trsvcid=4420,hostnqn=" + kHostNqn),
            std::string::npos)
      << *output;
  EXPECT_NE(output->find(std::string(kHostNqn) + ",reconnect_delay=5,ctrl_loss_tmo=-1"),
            std::string::npos)
      << *output;
  EXPECT_EQ(output->find("keep_alive_tmo"), std::string::npos) << *output;
}

// A volume context whose tuning is not a number in range is refused before any connect.
TEST_F(RdsNodeNamespaceTest, ATuningOutOfRangeInTheVolumeContextIsRefused) {
  AttachRequest req = attachRequest("/stage/one");
  req.volumeContext["reconnectDelay"] = "0";
  auto output = inPrivateDev([&] { return attachAndReport({}, true, req); });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  EXPECT_NE(output->find("INVALID_ARGUMENT"), std::string::npos) << *output;
  EXPECT_NE(output->find("volume context reconnectDelay='0' is not 1-3600 seconds"),
            std::string::npos)
      << *output;
  EXPECT_EQ(output->find("transport=tcp"), std::string::npos) << "nothing was connected";
  EXPECT_FALSE(recorded().has_value());
}

TEST_F(RdsNodeNamespaceTest, DefaultsAreTheDocumentedOnes) {
  auto output = inPrivateDev([&] { return attachAndReport({}, true); });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  EXPECT_NE(output->find(std::string("hostnqn=") + kHostNqn +
                         ",keep_alive_tmo=5,reconnect_delay=10,ctrl_loss_tmo=600"),
            std::string::npos)
      << *output;
}

TEST_F(RdsNodeNamespaceTest, AnOwnedControllerThatIsNotLiveIsReplacedOnTheNextAttach) {
  fake_.addController("nvme1", kVolumeNqn, "tcp", kRds, "4420", "connecting");
  recordEarlierRun(
      {kVolumeNqn, kVolume, {kRds}, "4420", {{"nvme1", true, kRds}}, {"/stage/one"}, false});
  auto output = inPrivateDev([&] { return attachAndReport({}, true); });
  if (!output)
    FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): "
           << "mount namespaces are not available here";
  EXPECT_EQ(fake_.deleteRequests("nvme1"), "1");
  EXPECT_NE(output->find("nqn=nqn.2000-02.com.mikrotik:pvc-a,transport=tcp,traddr=10.42.68.1"),
            std::string::npos)
      << *output;
  // The failed reconnect keeps the staging path (it was staged before) but not the dead name.
  ASSERT_TRUE(recorded().has_value());
  EXPECT_TRUE(recorded()->controllers.empty());
  EXPECT_EQ(recorded()->stagingPaths, std::set<std::string>{"/stage/one"});
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
