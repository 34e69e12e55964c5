// The polycsi command line: validate-config names the key path of every problem, and plugins
// lists what it can load with the capability matrix.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "driver_process.hpp"

namespace polycsi::testing {
namespace {

struct Ran {
  int exitCode = -1;
  std::string output;
};

// Runs polycsi with `args`, capturing stdout and stderr together.
Ran runPolycsi(const std::vector<std::string>& args) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeFds[1], 1);
    dup2(pipeFds[1], 2);
    close(pipeFds[0]);
    std::vector<char*> argv{const_cast<char*>(POLYCSI_BINARY)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipeFds[1]);
  Ran ran;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipeFds[0], buffer, sizeof(buffer))) > 0) ran.output.append(buffer, n);
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ran.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return ran;
}

class CliTest : public ::testing::Test {
 protected:
  std::string writeConfig(const std::string& body) {
    std::string path = work_.path() + "/config.yaml";
    std::ofstream(path) << body;
    return path;
  }
  TempWorkDir work_;
};

TEST_F(CliTest, ValidateConfigAcceptsAGoodFile) {
  auto path = writeConfig("state_path: /var/lib/polycsi\nbackends:\n  - name: local\n"
                          "    plugin: sample\n    settings:\n      directory: /srv/v\n");
  auto ran = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitCode, 0) << ran.output;
  EXPECT_NE(ran.output.find("valid (1 backend)"), std::string::npos) << ran.output;
}

TEST_F(CliTest, ValidateConfigNamesTheKeyPathOfEachProblem) {
  auto path = writeConfig("state_path: /var/lib/polycsi\nbackends:\n  - name: local\n"
                          "    plugin: sample\n    settings:\n      directory: /srv/v\n"
                          "  - name: second\n    plugin: sample\n    settings:\n"
                          "      capacity_bytes: lots\n");
  auto ran = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitCode, 1);
  EXPECT_NE(ran.output.find("backends[1].settings.directory: required"), std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("backends[1].settings.capacity_bytes"), std::string::npos)
      << ran.output;

  auto structural = writeConfig("backends: []\n");
  auto bad = runPolycsi({"validate-config", structural, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_NE(bad.output.find("state_path"), std::string::npos) << bad.output;

  auto unknownPlugin = writeConfig("state_path: /x\nbackends:\n  - name: a\n    plugin: nope\n");
  auto missing = runPolycsi({"validate-config", unknownPlugin, "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(missing.exitCode, 1);
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
    auto path = writeConfig("state_path: " + work_.path() + "/state\nbackends:\n  - name: b\n" +
                            c.settings);
    auto validated = runPolycsi({"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR});
    EXPECT_EQ(validated.exitCode, 1) << validated.output;
    const std::string message = restOfLineAfter(validated.output, "backends[0].settings: ");
    EXPECT_NE(message.find(c.expected), std::string::npos) << validated.output;

    auto served =
        runPolycsi({"serve", "--config", path, "--endpoint", "unix://" + work_.path() + "/csi.sock",
                    "--node-id", "n", "--plugin-dir", POLYCSI_PLUGIN_DIR});
    EXPECT_EQ(served.exitCode, 1) << served.output;
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
  EXPECT_EQ(all.exitCode, 1) << all.output;
  EXPECT_NE(all.output.find("backends[0].settings.address: required for the controller"),
            std::string::npos)
      << all.output;
  EXPECT_NE(all.output.find("backends[0].settings.base_path: required for the controller"),
            std::string::npos)
      << all.output;
  auto controller = runPolycsi(
      {"validate-config", path, "--mode", "controller", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(controller.exitCode, 1) << controller.output;
  EXPECT_NE(controller.output.find("backends[0].settings.address: required for the controller"),
            std::string::npos)
      << controller.output;
  auto node =
      runPolycsi({"validate-config", path, "--mode", "node", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(node.exitCode, 0) << node.output;
  EXPECT_NE(node.output.find("valid (1 backend)"), std::string::npos) << node.output;
  auto unknownMode =
      runPolycsi({"validate-config", path, "--mode", "both", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_NE(unknownMode.exitCode, 0) << unknownMode.output;
}

// What validate-config accepts, serve starts with.
TEST_F(CliTest, AConfigValidateConfigAcceptsStartsServe) {
  DriverProcess driver(work_.path(),
                       "backends:\n  - name: share\n    plugin: nfs\n    settings:\n"
                       "      server: 127.0.0.1\n      share: /srv/nfs\n");
  auto validated = runPolycsi(
      {"validate-config", work_.path() + "/config.yaml", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  ASSERT_EQ(validated.exitCode, 0) << validated.output;
  driver.start(DriverProcess::Wait::kAnswering);
  EXPECT_TRUE(driver.running()) << driver.log();
  driver.stop();
}

TEST_F(CliTest, PluginsListsTheSamplePluginsMatrix) {
  auto ran = runPolycsi({"plugins", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitCode, 0) << ran.output;
  EXPECT_NE(ran.output.find("sample 0.1.0"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("ABI 1.2"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("migration_window"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("metrics prefix: sample_csi"), std::string::npos) << ran.output;
}

TEST_F(CliTest, PluginsFailsWhenAPluginIsRefused) {
  std::string dir = work_.path() + "/plugins";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(POLYCSI_PLUGIN_DIR) + "/polycsi_sample.so",
                             dir + "/polycsi_sample.so");
  std::ofstream(dir + "/polycsi_broken.so") << "not a shared object";
  auto ran = runPolycsi({"plugins", "--plugin-dir", dir});
  EXPECT_EQ(ran.exitCode, 1) << ran.output;
  EXPECT_NE(ran.output.find("REFUSED"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("polycsi_broken.so"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("sample 0.1.0"), std::string::npos) << "good plugins still listed";
}

TEST_F(CliTest, ServeRefusesANonUnixEndpoint) {
  auto path = writeConfig("state_path: " + work_.path() + "/state\nbackends:\n  - name: local\n"
                          "    plugin: sample\n    settings:\n      directory: " +
                          work_.path() + "/v\n");
  auto ran = runPolycsi({"serve", "--config", path, "--endpoint", "tcp://0.0.0.0:1",
                         "--node-id", "n", "--plugin-dir", POLYCSI_PLUGIN_DIR});
  EXPECT_EQ(ran.exitCode, 1);
  EXPECT_NE(ran.output.find("--endpoint must be a unix socket"), std::string::npos) << ran.output;
}

}  // namespace
}  // namespace polycsi::testing
