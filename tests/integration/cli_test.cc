// The polycsi command line: validate-config names the key path of every problem, and plugins
// lists what it can load with the capability matrix.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// Runs polycsi with `args`, capturing stdout and stderr together.
CommandResult runPolycsi(const std::vector<std::string>& args) {
  return runProgram(POLYCSI_BINARY, args, {.mergeStderr = true});
}

class CliTest : public ::testing::Test {
 protected:
  std::string writeConfig(const std::string& body) {
    std::string path = work_.str() + "/config.yaml";
    std::ofstream(path) << body;
    return path;
  }
  TempDir work_;
};

TEST_F(CliTest, ValidateConfigAcceptsAGoodFile) {
  auto path = writeConfig(
      "state_path: /var/lib/polycsi\nbackends:\n  - name: local\n"
      "    plugin: sample\n    settings:\n      directory: /srv/v\n");
  auto ran = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 0) << ran.output;
  EXPECT_NE(ran.output.find("valid (1 backend)"), std::string::npos) << ran.output;
}

TEST_F(CliTest, ValidateConfigNamesTheKeyPathOfEachProblem) {
  auto path = writeConfig(
      "state_path: /var/lib/polycsi\nbackends:\n  - name: local\n"
      "    plugin: sample\n    settings:\n      directory: /srv/v\n"
      "  - name: second\n    plugin: sample\n    settings:\n"
      "      capacity_bytes: lots\n");
  auto ran = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("backends[1].settings.directory: required"), std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("backends[1].settings.capacity_bytes"), std::string::npos)
      << ran.output;

  auto structural = writeConfig("backends: []\n");
  auto bad = runPolycsi({"validate-config", structural, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(bad.exitStatus, 1);
  EXPECT_NE(bad.output.find("state_path"), std::string::npos) << bad.output;

  auto unknownPlugin = writeConfig("state_path: /x\nbackends:\n  - name: a\n    plugin: nope\n");
  auto missing = runPolycsi({"validate-config", unknownPlugin, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(missing.exitStatus, 1);
  EXPECT_NE(missing.output.find("backends[0].plugin"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("polycsi_nope.so"), std::string::npos) << missing.output;
}

// The text after `marker` up to the end of its line, or "" when absent.
std::string restOfLineAfter(const std::string& output, const std::string& marker) {
  size_t at = output.find(marker);
  if (at == std::string::npos) return {};
  at += marker.size();
  return output.substr(at, output.find('\n', at) - at);
}

// validate-config runs the plugin's own settings check, the one serve runs before it starts
// any backend: what serve refuses, validate-config refuses first, with the same message.
TEST_F(CliTest, ValidateConfigRefusesWhatServeRefusesWithTheSameMessage) {
  struct Case {
    std::string settings;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"    plugin: rds_nvme\n    settings:\n      address: 10.0.0.1\n      user: admin\n"
       "      password: pw\n      insecure_ignore_host_key: true\n      base_path: \"/a b\"\n",
       "setting 'base_path'"},
      {"    plugin: nfs\n    settings:\n      server: \"a;b\"\n      share: /srv/nfs\n",
       "setting 'server'"},
  };
  for (const auto& c : cases) {
    auto path =
        writeConfig("state_path: " + work_.str() + "/state\nbackends:\n  - name: b\n" + c.settings);
    auto validated = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
    EXPECT_EQ(validated.exitStatus, 1) << validated.output;
    const std::string message = restOfLineAfter(validated.output, "backends[0].settings: ");
    EXPECT_NE(message.find(c.expected), std::string::npos) << validated.output;

    auto served =
        runPolycsi({"serve", "--config", path, "--endpoint", "unix://" + work_.str() + "/csi.sock",
                    "--node-id", "n", "--plugin-dir", POLYCSI_PLUGIN_DIR});
    EXPECT_EQ(served.exitStatus, 1) << served.output;
    EXPECT_EQ(restOfLineAfter(served.output, "backends[0] (b): settings: "), message)
        << served.output;
  }
}

// Which settings a backend needs depends on the mode serve runs in; validate-config checks for
// the mode it is given, by default serve's default (controller and node).
TEST_F(CliTest, ValidateConfigChecksTheSettingsEachModeNeeds) {
  auto path = writeConfig(
      "state_path: /var/lib/polycsi\nbackends:\n  - name: rds\n"
      "    plugin: rds_nvme\n    settings:\n      password: pw\n");
  auto all = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(all.exitStatus, 1) << all.output;
  EXPECT_NE(all.output.find("backends[0].settings.address: required for the controller"),
            std::string::npos)
      << all.output;
  EXPECT_NE(all.output.find("backends[0].settings.base_path: required for the controller"),
            std::string::npos)
      << all.output;
  auto controller = runPolycsi(
      {"validate-config", path, "--mode", "controller", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(controller.exitStatus, 1) << controller.output;
  EXPECT_NE(controller.output.find("backends[0].settings.address: required for the controller"),
            std::string::npos)
      << controller.output;
  auto node =
      runPolycsi({"validate-config", path, "--mode", "node", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(node.exitStatus, 0) << node.output;
  EXPECT_NE(node.output.find("valid (1 backend)"), std::string::npos) << node.output;
  auto unknownMode =
      runPolycsi({"validate-config", path, "--mode", "both", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_NE(unknownMode.exitStatus, 0) << unknownMode.output;
}

// What validate-config accepts, serve starts with.
TEST_F(CliTest, AConfigValidateConfigAcceptsStartsServe) {
  DriverProcess driver(work_.path(),
                       "backends:\n  - name: share\n    plugin: nfs\n    settings:\n"
                       "      server: 127.0.0.1\n      share: /srv/nfs\n");
  auto validated = runPolycsi(
      {"validate-config", work_.str() + "/config.yaml", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  ASSERT_EQ(validated.exitStatus, 0) << validated.output;
  driver.start(DriverProcess::Wait::kAnswering);
  EXPECT_TRUE(driver.running()) << driver.log();
  driver.stop();
}

TEST_F(CliTest, PluginsListsTheSamplePluginsMatrix) {
  auto ran = runPolycsi({"plugins", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 0) << ran.output;
  EXPECT_NE(ran.output.find("sample 0.1.0"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("ABI 1.4"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("migration_window"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("metrics prefix: sample_csi"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("group snapshots: per-volume-sequence"), std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("  mutable parameters: tier\n"), std::string::npos) << ran.output;
}

// iscsi_powerstore takes a group in one call (ABI 1.4) and says the group is crash-consistent.
TEST_F(CliTest, PluginsShowsIscsiPowerStoreGroupsAsCrashConsistent) {
  auto ran = runPolycsi({"plugins", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 0) << ran.output;
  const size_t at = ran.output.find("iscsi_powerstore 0.1.0");
  ASSERT_NE(at, std::string::npos) << ran.output;
  // The plugin's lines: up to the next line that is not indented (the next plugin).
  size_t end = ran.output.find('\n', at);
  while (end != std::string::npos && end + 1 < ran.output.size() && ran.output[end + 1] == ' ')
    end = ran.output.find('\n', end + 1);
  const std::string block = ran.output.substr(at, end == std::string::npos ? end : end - at);
  EXPECT_NE(block.find(" group-snapshot-call"), std::string::npos) << block;
  EXPECT_NE(block.find("group snapshots: crash-consistent"), std::string::npos) << block;
}

TEST_F(CliTest, PluginsFailsWhenAPluginIsRefused) {
  std::string dir = work_.str() + "/plugins";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(POLYCSI_PLUGIN_DIR) + "/polycsi_sample.so",
                             dir + "/polycsi_sample.so");
  std::ofstream(dir + "/polycsi_broken.so") << "not a shared object";
  auto ran = runPolycsi({"plugins", "--plugin-dir", dir});
  EXPECT_EQ(ran.exitStatus, 1) << ran.output;
  EXPECT_NE(ran.output.find("REFUSED"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("polycsi_broken.so"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("sample 0.1.0"), std::string::npos) << "good plugins still listed";
}

TEST_F(CliTest, ServeRefusesANonUnixEndpoint) {
  auto path = writeConfig("state_path: " + work_.str() +
                          "/state\nbackends:\n  - name: local\n"
                          "    plugin: sample\n    settings:\n      directory: " +
                          work_.str() + "/v\n");
  auto ran = runPolycsi({"serve", "--config", path, "--endpoint", "tcp://0.0.0.0:1", "--node-id",
                         "n", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("--endpoint must be a unix socket"), std::string::npos) << ran.output;
}

// Start-up errors reach the operator as "cannot start: CODE: message", whichever part refused.
TEST_F(CliTest, ServeNamesTheConfigFileAndWhatIsWrongInIt) {
  const std::string path = writeConfig("backends: []\n");
  auto ran = runPolycsi({"serve", "--config", path, "--endpoint",
                         "unix://" + work_.str() + "/csi.sock", "--node-id", "n"});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("cannot start: INVALID_ARGUMENT: " + path + ": state_path: required"),
            std::string::npos)
      << ran.output;
}

TEST_F(CliTest, ServeNamesAnUnusableKubernetesApiUrl) {
  auto path = writeConfig("state_path: " + work_.str() +
                          "/state\nbackends:\n  - name: local\n"
                          "    plugin: sample\n    settings:\n      directory: " +
                          work_.str() + "/v\n");
  const std::string tokenFile = work_.str() + "/token";
  std::ofstream(tokenFile) << "kube-token-for-cli-test\n";
  auto ran =
      runPolycsi({"serve", "--config", path, "--endpoint", "unix://" + work_.str() + "/csi.sock",
                  "--node-id", "n", "--plugin-dir", POLYCSI_PLUGIN_DIR, "--kubernetes-api",
                  "ftp://api.example", "--kubernetes-token-file", tokenFile});
  EXPECT_EQ(ran.exitStatus, 1);
  EXPECT_NE(ran.output.find("cannot start: INVALID_ARGUMENT: Kubernetes API URL "
                            "\"ftp://api.example\" must start with https:// (or http://) and "
                            "contain no spaces"),
            std::string::npos)
      << ran.output;
  EXPECT_EQ(ran.output.find("kube-token-for-cli-test"), std::string::npos) << ran.output;
}

TEST_F(CliTest, AnUnknownLogLevelIsNamed) {
  auto ran = runPolycsi({"--log-level", "verbose", "plugins", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitStatus, 2);
  EXPECT_NE(ran.output.find("unknown log level \"verbose\" (expected debug, info, warn or error)"),
            std::string::npos)
      << ran.output;
}

}  // namespace
}  // namespace polycsi::testing
