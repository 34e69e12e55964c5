// Configuration errors name the field that is wrong, never a secret's value: they are printed
// by `polycsi validate-config`, logged by `polycsi serve` and read by whoever looks at a
// crash-looping pod's logs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "child_process.hpp"
#include "config/driver_config.hpp"
#include "driver_process.hpp"
#include "kube/kube_client.hpp"
#include "secret_scan.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// Regression: a secret integer or boolean setting with a malformed value was quoted
// ("must be an integer, got '<value>'").
TEST(ConfigErrorsTest, SettingsCheckNeverQuotesASecretValue) {
  Descriptor d;
  d.name = "vault";
  d.settings = {{"pin", SettingKind::kInteger, false, true, "secret PIN"},
                {"unlock", SettingKind::kBoolean, false, true, "secret switch"},
                {"port", SettingKind::kInteger, false, false, "not secret"}};
  const auto parsed = config::parseConfig(
      "state_path: /var/lib/polycsi\n"
      "backends:\n"
      "  - name: v\n"
      "    plugin: vault\n"
      "    settings:\n"
      "      pin: pin-value-0xdead\n"
      "      unlock: unlock-value-maybe\n"
      "      port: port-value-x\n");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  const config::DriverConfig& config = *parsed;
  const auto problems = config::checkBackendSettings(config, 0, d);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_NE(all.find("backends[0].settings.pin: must be an integer"), std::string::npos) << all;
  EXPECT_NE(all.find("backends[0].settings.unlock: must be true or false"), std::string::npos)
      << all;
  EXPECT_TRUE(findSecrets(all, {"pin-value-0xdead", "unlock-value-maybe"}, "problems").empty())
      << all;
  // A value that is not secret is still quoted: it helps to see it.
  EXPECT_NE(all.find("port-value-x"), std::string::npos) << all;
}

TEST(ConfigErrorsTest, ValidateConfigNamesTheSecretFieldWithoutItsValue) {
  TempDir work;
  const std::string path = work.str() + "/config.yaml";
  std::ofstream(path) << "state_path: " << work.str() << "/state\n"
                      << "backends:\n"
                         "  - name: rds\n"
                         "    plugin: rds_nvme\n"
                         "    settings:\n"
                         "      address: 127.0.0.1\n"
                         "      user: admin\n"
                         "      password: [\"ssh-pw-in-a-list-41\"]\n"
                         "      private_key: {text: \"key-material-in-a-map-42\"}\n";
  const CommandResult ran =
      runProgram(POLYCSI_BINARY, {"validate-config", path, "--plugin-dir", POLYCSI_PLUGIN_DIR},
                 {.mergeStderr = true});
  const std::string& output = ran.output;
  EXPECT_EQ(ran.exitStatus, 1) << output;
  EXPECT_NE(output.find("backends[0].settings.password: must be a single value"), std::string::npos)
      << output;
  EXPECT_NE(output.find("backends[0].settings.private_key: must be a single value"),
            std::string::npos)
      << output;
  const auto leaks =
      findSecrets(output, {"ssh-pw-in-a-list-41", "key-material-in-a-map-42"}, "validate-config");
  EXPECT_TRUE(leaks.empty()) << describe(leaks);
}

// Regression: the plugin quoted a malformed array password in its refusal, and `polycsi
// serve` logged that refusal before any secret was registered with the log redactor.
TEST(ConfigErrorsTest, ServeRefusingAPluginsSettingsLogsNoSecret) {
  TempDir work;
  const std::vector<std::string> secrets = {"array-pw-in-a-list-43", "chap-secret-value-44"};
  DriverProcess driver(work.str(),
                       "backends:\n"
                       "  - name: ps\n"
                       "    plugin: iscsi_powerstore\n"
                       "    settings:\n"
                       "      ca_file: /nonexistent/ca.pem\n"
                       "      chap_user: chapuser\n"
                       "      chap_password: chap-secret-value-44\n"
                       "      arrays:\n"
                       "        - endpoint: \"https://127.0.0.1:1/api/rest\"\n"
                       "          globalID: \"PS1\"\n"
                       "          username: \"admin\"\n"
                       "          password: [\"array-pw-in-a-list-43\"]\n",
                       "controller-0", {"--mode", "controller"});
  try {
    driver.start();
    FAIL() << "the driver started with a malformed array password";
  } catch (const std::runtime_error&) {
  }
  const std::string log = driver.log();
  EXPECT_NE(log.find("arrays[0].password must be a string"), std::string::npos) << log;
  const auto leaks = findSecrets(log, secrets, "driver log");
  EXPECT_TRUE(leaks.empty()) << describe(leaks);
}

// A token is sent as an HTTP header: a line break in it would add headers to every request.
TEST(ConfigErrorsTest, KubeTokenWithALineBreakIsRefused) {
  kube::KubeConfig config;
  config.baseUrl = "http://127.0.0.1:1";
  config.token = "kube-token-value-45\r\nX-Injected: 1";
  auto refused = kube::KubeClient::create(config);
  ASSERT_FALSE(refused.isOk()) << "a token with a line break was accepted";
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("line break"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("kube-token-value-45"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace polycsi::testing
