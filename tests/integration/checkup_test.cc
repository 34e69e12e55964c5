// polycsictl checkup against a real `polycsi serve`: the report comes from the driver's
// GetPluginInfo manifest, so it names the configured backends and the sample plugin's matrix.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "driver_process.hpp"
#include "fake_kube_api.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// Runs polycsictl with `args`; stdout and stderr together.
CommandResult runPolycsictl(const std::vector<std::string>& args) {
  return runProgram(POLYCSICTL_BINARY, args, {.mergeStderr = true});
}

class CheckupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    driver_ =
        std::make_unique<DriverProcess>(work_.str(),
                                        "backends:\n"
                                        "  - name: files\n    plugin: sample\n    default: true\n"
                                        "    settings:\n      directory: " +
                                            work_.str() +
                                            "/files\n"
                                            "  - name: scratch\n    plugin: sample\n"
                                            "    settings:\n      directory: " +
                                            work_.str() + "/scratch\n");
    driver_->start();
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
  }
  CommandResult checkup(std::vector<std::string> args) {
    args.insert(args.begin(), {"--endpoint", "unix://" + work_.str() + "/csi.sock", "checkup"});
    return runPolycsictl(args);
  }

  TempDir work_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(CheckupTest, ReportsEveryBackendWithItsMigrationVerdictAndYaml) {
  const CommandResult ran = checkup({});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output;
  EXPECT_NE(ran.output.find("backend files (plugin sample 0.1.0, default)"), std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("backend scratch (plugin sample 0.1.0)"), std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("live migration: yes (RWX Block, bounded window 300s default"),
            std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("storageClassName: polycsi-files"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("kind: StorageProfile"), std::string::npos) << ran.output;
}

TEST_F(CheckupTest, JsonForOneBackendCarriesPvcAndClaimPropertySets) {
  const CommandResult ran =
      checkup({"--backend", "scratch", "--storage-class", "vm-disks", "--json"});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output;
  const auto report = nlohmann::json::parse(ran.output);
  EXPECT_EQ(report.at("driver"), "polycsi.csi.io");
  ASSERT_EQ(report.at("backends").size(), 1u);
  const auto& backend = report.at("backends")[0];
  EXPECT_EQ(backend.at("name"), "scratch");
  EXPECT_EQ(backend.at("plugin"), "sample");
  EXPECT_TRUE(backend.at("liveMigration").at("supported").get<bool>());
  EXPECT_EQ(backend.at("liveMigration").at("volumeMode"), "Block");
  const auto& pvc = backend.at("pvc").at("spec");
  EXPECT_EQ(pvc.at("storageClassName"), "vm-disks");
  EXPECT_EQ(pvc.at("accessModes"), nlohmann::json::array({"ReadWriteMany"}));
  EXPECT_EQ(pvc.at("volumeMode"), "Block");
  const auto& sets = backend.at("storageProfile").at("spec").at("claimPropertySets");
  ASSERT_GE(sets.size(), 2u);
  EXPECT_EQ(sets[0].at("volumeMode"), "Block");
  EXPECT_EQ(sets[0].at("accessModes"), nlohmann::json::array({"ReadWriteMany"}));
  EXPECT_EQ(backend.at("storageProfile").at("metadata").at("name"), "vm-disks");
}

TEST_F(CheckupTest, UnknownBackendIsNamedWithTheOnesThatExist) {
  const CommandResult ran = checkup({"--backend", "nope"});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("no backend 'nope' (it has: files, scratch)"), std::string::npos)
      << ran.output;
}

nlohmann::json storageClass(const std::string& name, const std::string& provisioner,
                            const nlohmann::json& parameters) {
  nlohmann::json item = {
      {"apiVersion", "storage.k8s.io/v1"}, {"kind", "StorageClass"},
      {"metadata", {{"name", name}}},      {"provisioner", provisioner},
      {"reclaimPolicy", "Delete"},         {"volumeBindingMode", "WaitForFirstConsumer"}};
  if (!parameters.empty()) item["parameters"] = parameters;
  return item;
}

// In a cluster, checkup answers per StorageClass of the driver with the class's own backend and
// window, and says why a class cannot create volumes; classes of other drivers are left out.
// The classes come from the API in pages, read with the controller's ClusterRole.
class CheckupInClusterTest : public CheckupTest {
 protected:
  void SetUp() override {
    CheckupTest::SetUp();
    api_.enforceClusterRole(POLYCSI_CONTROLLER_RBAC, "polycsi-controller");
    api_.setPageSize(2);
    api_.setStorageClasses({
        storageClass("vm-fast", "polycsi.csi.io",
                     {{"backend", "scratch"}, {"migrationTimeoutSeconds", "900"}}),
        storageClass("other-driver", "other.csi.example.com", {{"backend", "scratch"}}),
        storageClass("vm-default", "polycsi.csi.io", nlohmann::json::object()),
        storageClass("broken-window", "polycsi.csi.io", {{"migrationTimeoutSeconds", "99999"}}),
        storageClass("gone", "polycsi.csi.io", {{"backend", "nope"}}),
    });
    std::ofstream(work_.str() + "/token") << "sa-token\n";
  }
  void TearDown() override {
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
    CheckupTest::TearDown();
  }
  CommandResult inCluster(std::vector<std::string> args) {
    args.insert(args.end(),
                {"--kube-api", api_.baseUrl(), "--kube-token-file", work_.str() + "/token"});
    return checkup(args);
  }

  kube::testing::FakeKubeApi api_{"sa-token"};
};

TEST_F(CheckupInClusterTest, EachClassIsJudgedWithItsOwnBackendAndWindow) {
  const CommandResult ran = inCluster({"--json"});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output;
  const auto classes = nlohmann::json::parse(ran.output).at("backends");
  ASSERT_EQ(classes.size(), 4u) << ran.output;
  EXPECT_EQ(classes[0].at("storageClass"), "broken-window");
  EXPECT_EQ(classes[1].at("storageClass"), "gone");
  EXPECT_EQ(classes[2].at("storageClass"), "vm-default");
  EXPECT_EQ(classes[3].at("storageClass"), "vm-fast");

  const auto& fast = classes[3];
  EXPECT_EQ(fast.at("name"), "scratch");
  EXPECT_EQ(fast.at("migrationTimeoutSeconds"), 900);
  EXPECT_NE(fast.at("liveMigration")
                .at("detail")
                .get<std::string>()
                .find("bounded window 900s (StorageClass vm-fast)"),
            std::string::npos)
      << fast.dump();
  EXPECT_EQ(fast.at("pvc").at("spec").at("storageClassName"), "vm-fast");
  EXPECT_EQ(fast.at("storageProfile").at("metadata").at("name"), "vm-fast");

  const auto& byDefault = classes[2];
  EXPECT_EQ(byDefault.at("name"), "files") << "the driver's default backend";
  EXPECT_EQ(byDefault.at("migrationTimeoutSeconds"), 300);
  EXPECT_FALSE(byDefault.contains("problem"));

  const auto& window = classes[0];
  EXPECT_FALSE(window.at("liveMigration").at("supported").get<bool>());
  EXPECT_NE(window.at("problem").get<std::string>().find(
                "migrationTimeoutSeconds '99999' is not a number of seconds in 30-3600"),
            std::string::npos)
      << window.dump();
  EXPECT_FALSE(window.contains("pvc")) << "no PVC is advised for a class that cannot create one";

  EXPECT_NE(classes[1].at("problem").get<std::string>().find(
                "parameters.backend 'nope' is not a backend of driver polycsi.csi.io (it has: "
                "files, scratch)"),
            std::string::npos)
      << classes[1].dump();
}

TEST_F(CheckupInClusterTest, TextNamesTheClassAndItsProblem) {
  const CommandResult ran = inCluster({"--storage-class", "broken-window"});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output;
  EXPECT_NE(ran.output.find("StorageClass broken-window: backend files (plugin sample 0.1.0, "
                            "default) on driver polycsi.csi.io"),
            std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("PROBLEM: migrationTimeoutSeconds '99999'"), std::string::npos)
      << ran.output;
  EXPECT_EQ(ran.output.find("vm-fast"), std::string::npos) << "only the class asked for";
}

TEST_F(CheckupInClusterTest, AClassTheClusterDoesNotHaveIsNamed) {
  const CommandResult ran = inCluster({"--storage-class", "other-driver"});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("the cluster has no StorageClass 'other-driver' of driver "
                            "polycsi.csi.io"),
            std::string::npos)
      << ran.output;
}

TEST_F(CheckupInClusterTest, PerBackendStaysAvailable) {
  const CommandResult ran = inCluster({"--per-backend", "--json"});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output;
  const auto backends = nlohmann::json::parse(ran.output).at("backends");
  ASSERT_EQ(backends.size(), 2u);
  EXPECT_EQ(backends[0].at("storageClass"), "polycsi-files");
  EXPECT_TRUE(api_.requests().empty()) << "no StorageClass read";
}

}  // namespace
}  // namespace polycsi::testing

#ifdef POLYCSI_CHECKUP_ALL_PLUGINS
namespace polycsi::testing {
namespace {

// compare and checkup show, per backend, what the plugins themselves declare about group
// snapshots, VolumeAttributesClass-mutable parameters and volume health, read from the running
// driver: sample, nfs and iscsi_powerstore differ. nfs and PowerStore start without their
// storage (they connect per call) and nothing here calls them.
class CompareAcrossPluginsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n"
        "  - name: local\n    plugin: sample\n    default: true\n    settings:\n"
        "      directory: " +
            work_.str() +
            "/volumes\n"
            "  - name: nas\n    plugin: nfs\n    settings:\n      server: 127.0.0.1\n"
            "      share: /export\n"
            "  - name: powerstore\n    plugin: iscsi_powerstore\n    settings:\n"
            "      arrays:\n        - endpoint: \"https://127.0.0.1:9/api/rest\"\n"
            "          globalID: \"PS0000000000\"\n          username: csi\n"
            "          password: x\n          skipCertificateValidation: true\n"
            "          isDefault: true\n          blockProtocol: ISCSI\n");
    driver_->start();
  }
  void TearDown() override {
    if (HasFailure() && driver_) std::cerr << "driver log:\n" << driver_->log();
  }
  CommandResult run(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--endpoint", "unix://" + work_.str() + "/csi.sock"};
    all.insert(all.end(), args.begin(), args.end());
    return runPolycsictl(all);
  }

  TempDir work_;
  std::unique_ptr<DriverProcess> driver_;
};

TEST_F(CompareAcrossPluginsTest, CompareAndCheckupShowEachPluginsDeclarations) {
  const CommandResult compared = run({"compare", "--json"});
  ASSERT_EQ(compared.exitStatus, 0) << compared.output;
  const auto rows = nlohmann::json::parse(compared.output).at("backends");
  ASSERT_EQ(rows.size(), 3u) << compared.output;  // local, nas, powerstore
  const nlohmann::json both = {{"controller", true}, {"node", true}};
  EXPECT_EQ(rows[0].at("backend"), "local");
  EXPECT_EQ(rows[0].at("groupSnapshots"), "per volume in sequence");
  EXPECT_EQ(rows[0].at("mutableParameters"),
            nlohmann::json::array({"migrationTimeoutSeconds", "tier"}));
  EXPECT_EQ(rows[0].at("volumeCondition"), both);
  EXPECT_EQ(rows[1].at("backend"), "nas");
  EXPECT_EQ(rows[1].at("groupSnapshots"), "per volume in sequence");
  EXPECT_EQ(rows[1].at("mutableParameters"), nlohmann::json::array());
  EXPECT_EQ(rows[1].at("volumeCondition"), both);
  EXPECT_EQ(rows[2].at("backend"), "powerstore");
  EXPECT_EQ(rows[2].at("groupSnapshots"), "crash-consistent");  // PowerStore volume groups
  EXPECT_EQ(rows[2].at("mutableParameters"),
            nlohmann::json::array({"performancePolicy", "protectionPolicyID"}));
  EXPECT_EQ(rows[2].at("volumeCondition"), both);

  const CommandResult table = run({"compare"});
  ASSERT_EQ(table.exitStatus, 0) << table.output;
  for (const char* expected :
       {"GROUP SNAPSHOT", "VAC MUTABLE", "HEALTH", "performancePolicy, protectionPolicyID",
        "migrationTimeoutSeconds, tier", "controller, node"})
    EXPECT_NE(table.output.find(expected), std::string::npos) << expected << "\n" << table.output;

  const CommandResult checked = run({"checkup", "--backend", "powerstore"});
  ASSERT_EQ(checked.exitStatus, 0) << checked.output;
  EXPECT_NE(checked.output.find("  group snapshots: crash-consistent\n"), std::string::npos)
      << checked.output;
  EXPECT_NE(checked.output.find("  VolumeAttributesClass may change: performancePolicy, "
                                "protectionPolicyID\n"),
            std::string::npos)
      << checked.output;
  EXPECT_NE(checked.output.find("  volume health reported by: controller, node\n"),
            std::string::npos)
      << checked.output;
  const CommandResult checkedJson = run({"checkup", "--backend", "nas", "--json"});
  ASSERT_EQ(checkedJson.exitStatus, 0) << checkedJson.output;
  const auto nas = nlohmann::json::parse(checkedJson.output).at("backends").at(0);
  EXPECT_EQ(nas.at("mutableParameters"), nlohmann::json::array());
  EXPECT_EQ(nas.at("volumeCondition"), both);
}

}  // namespace
}  // namespace polycsi::testing
#endif  // POLYCSI_CHECKUP_ALL_PLUGINS
