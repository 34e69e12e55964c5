#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/driver_config.hpp"

namespace polycsi::config {
namespace {

using Problems = std::vector<std::string>;

Descriptor rdsDescriptor() {
  Descriptor d;
  d.name = "rds_nvme";
  d.settings = {
      {"address", SettingKind::kString, true, false, "RouterOS address"},
      {"port", SettingKind::kInteger, false, false, "SSH port"},
      {"insecure", SettingKind::kBoolean, false, false, "skip host key check"},
      {"password", SettingKind::kString, false, true, "SSH password"},
      {"pools", SettingKind::kStructured, false, false, "disk pools"},
      {"keys", SettingKind::kStructured, false, true, "extra secrets"},
  };
  return d;
}

DriverConfig configWith(const std::string& settingsYaml) {
  return parseConfig(
             "state_path: /var/lib/polycsi\n"
             "backends:\n"
             "  - {name: nfs, plugin: nfs}\n"
             "  - name: rds\n"
             "    plugin: rds_nvme\n"
             "    settings:\n" +
             settingsYaml)
      .value();
}

TEST(CheckBackendSettingsTest, AcceptsWellFormedSettings) {
  auto config = configWith(
      "      address: 10.0.0.1\n"
      "      port: 2222\n"
      "      insecure: true\n"
      "      password: pw\n"
      "      pools: [a, b]\n");
  EXPECT_EQ(checkBackendSettings(config, 1, rdsDescriptor()), Problems{});
}

TEST(CheckBackendSettingsTest, ReportsMissingRequiredKey) {
  auto config = configWith("      port: 22\n");
  EXPECT_EQ(checkBackendSettings(config, 1, rdsDescriptor()),
            Problems{"backends[1].settings.address: required"});
}

TEST(CheckBackendSettingsTest, ReportsUnknownKeysNamingTheKnownOnes) {
  auto config = configWith("      address: a\n      adress: b\n");
  EXPECT_EQ(checkBackendSettings(config, 1, rdsDescriptor()),
            Problems{"backends[1].settings.adress: unknown setting (plugin rds_nvme knows: "
                     "address, port, insecure, password, pools, keys)"});
  Descriptor none;
  none.name = "nfs";
  EXPECT_EQ(checkBackendSettings(config, 1, none),
            (Problems{"backends[1].settings.address: unknown setting (plugin nfs takes no "
                      "settings)",
                      "backends[1].settings.adress: unknown setting (plugin nfs takes no "
                      "settings)"}));
}

TEST(CheckBackendSettingsTest, ChecksIntegers) {
  EXPECT_EQ(
      checkBackendSettings(configWith("      address: a\n      port: 22x\n"), 1, rdsDescriptor()),
      Problems{"backends[1].settings.port: must be an integer, got '22x'"});
  EXPECT_EQ(
      checkBackendSettings(configWith("      address: a\n      port: 1.5\n"), 1, rdsDescriptor()),
      Problems{"backends[1].settings.port: must be an integer, got '1.5'"});
  EXPECT_EQ(checkBackendSettings(configWith("      address: a\n      port: 99999999999999999999\n"),
                                 1, rdsDescriptor()),
            Problems{"backends[1].settings.port: must be an integer, got "
                     "'99999999999999999999'"});
  EXPECT_EQ(
      checkBackendSettings(configWith("      address: a\n      port: -3\n"), 1, rdsDescriptor()),
      Problems{});
}

TEST(CheckBackendSettingsTest, ChecksBooleans) {
  EXPECT_EQ(checkBackendSettings(configWith("      address: a\n      insecure: yes\n"), 1,
                                 rdsDescriptor()),
            Problems{"backends[1].settings.insecure: must be true or false, got 'yes'"});
  EXPECT_EQ(checkBackendSettings(configWith("      address: a\n      insecure: false\n"), 1,
                                 rdsDescriptor()),
            Problems{});
}

TEST(CheckBackendSettingsTest, StructuredValuesOnlyForStructuredKeys) {
  EXPECT_EQ(checkBackendSettings(configWith("      address: [a, b]\n      pools: a\n"), 1,
                                 rdsDescriptor()),
            (Problems{"backends[1].settings.address: must be a single value, not a list or map",
                      "backends[1].settings.pools: must be a list or map"}));
}

TEST(CheckBackendSettingsTest, AStructuredValueSatisfiesARequiredStructuredKey) {
  Descriptor d;
  d.name = "p";
  d.settings = {{"pools", SettingKind::kStructured, true, false, ""}};
  EXPECT_EQ(checkBackendSettings(configWith("      pools: {a: 1}\n"), 1, d), Problems{});
  EXPECT_EQ(checkBackendSettings(configWith("      {}\n"), 1, d),
            Problems{"backends[1].settings.pools: required"});
}

TEST(CheckBackendSettingsTest, ReportsEveryProblem) {
  auto config = configWith("      port: x\n      insecure: 1\n      extra: 1\n");
  EXPECT_EQ(checkBackendSettings(config, 1, rdsDescriptor()),
            (Problems{"backends[1].settings.address: required",
                      "backends[1].settings.extra: unknown setting (plugin rds_nvme knows: "
                      "address, port, insecure, password, pools, keys)",
                      "backends[1].settings.insecure: must be true or false, got '1'",
                      "backends[1].settings.port: must be an integer, got 'x'"}));
}

TEST(CheckBackendSettingsTest, RefusesAnIndexOutOfRange) {
  auto config = configWith("      address: a\n");
  EXPECT_THROW(checkBackendSettings(config, 2, rdsDescriptor()), std::out_of_range);
}

TEST(SecretValuesTest, ReturnsValuesOfSecretKeysOnly) {
  auto config = configWith(
      "      address: 10.0.0.1\n"
      "      password: hunter2\n"
      "      keys: {a: k1, b: [k2, 33]}\n");
  EXPECT_EQ(secretValues(config, 1, rdsDescriptor()),
            (std::vector<std::string>{"hunter2", "k1", "k2", "33"}));
  EXPECT_EQ(secretValues(config, 0, rdsDescriptor()), std::vector<std::string>{});
}

TEST(SecretValuesTest, LeavesOutEmptyValues) {
  auto config = configWith("      address: a\n      password: \"\"\n");
  EXPECT_EQ(secretValues(config, 1, rdsDescriptor()), std::vector<std::string>{});
}

}  // namespace
}  // namespace polycsi::config
