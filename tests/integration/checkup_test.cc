// polycsictl checkup against a real `polycsi serve`: the report comes from the driver's
// GetPluginInfo manifest, so it names the configured backends and the sample plugin's matrix.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "driver_process.hpp"
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

}  // namespace
}  // namespace polycsi::testing
