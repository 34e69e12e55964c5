#include "config/driver_config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace polycsi::config {
namespace {

const char kFullConfig[] = R"(
driver_name: rds.csi.example.org
plugin_dir: /usr/lib/polycsi/plugins
state_path: /var/lib/polycsi
backends:
  - name: rds
    plugin: rds_nvme
    default: true
    settings:
      address: 10.0.0.1
      port: 22
      insecure: false
      password: "s3cret"
      pools: [pool-a, pool-b]
      limits: {max_volumes: 100, ratio: 1.5, label: "007", empty: ~}
  - name: nfs-1
    plugin: nfs
)";

// parseConfig's message for `yaml` (its code is always INVALID_ARGUMENT), or "" when it
// accepts the text.
std::string errorOf(const std::string& yaml) {
  const StatusOr<DriverConfig> config = parseConfig(yaml);
  if (config.isOk()) return "";
  EXPECT_EQ(config.status().code(), Code::kInvalidArgument) << config.status().toString();
  return config.status().message();
}

// The configuration parseConfig makes of `yaml`, which it must accept.
DriverConfig accepted(const std::string& yaml) {
  StatusOr<DriverConfig> config = parseConfig(yaml);
  EXPECT_TRUE(config.isOk()) << config.status().toString();
  return std::move(config).value();
}

std::string withBackends(const std::string& backends) {
  return "state_path: /var/lib/polycsi\nbackends:\n" + backends;
}

TEST(ParseConfigTest, ReadsAFullConfiguration) {
  DriverConfig config = accepted(kFullConfig);
  EXPECT_EQ(config.driverName, "rds.csi.example.org");
  EXPECT_EQ(config.pluginDir, "/usr/lib/polycsi/plugins");
  EXPECT_EQ(config.statePath, "/var/lib/polycsi");
  ASSERT_EQ(config.backends.size(), 2u);

  const BackendConfig& rds = config.backends[0];
  EXPECT_EQ(rds.name, "rds");
  EXPECT_EQ(rds.plugin, "rds_nvme");
  EXPECT_TRUE(rds.isDefault);
  EXPECT_EQ(
      rds.settings,
      (StringMap{
          {"address", "10.0.0.1"}, {"port", "22"}, {"insecure", "false"}, {"password", "s3cret"}}));
  EXPECT_EQ(rds.structuredKeys, (std::vector<std::string>{"pools", "limits"}));

  auto json = nlohmann::json::parse(rds.settingsJson);
  EXPECT_EQ(json["address"], "10.0.0.1");
  EXPECT_EQ(json["port"], 22);
  EXPECT_EQ(json["insecure"], false);
  EXPECT_EQ(json["password"], "s3cret");
  EXPECT_EQ(json["pools"], nlohmann::json::array({"pool-a", "pool-b"}));
  EXPECT_EQ(json["limits"]["max_volumes"], 100);
  EXPECT_DOUBLE_EQ(json["limits"]["ratio"].get<double>(), 1.5);
  EXPECT_EQ(json["limits"]["label"], "007");  // quoted: stays text
  EXPECT_TRUE(json["limits"]["empty"].is_null());

  const BackendConfig& nfs = config.backends[1];
  EXPECT_EQ(nfs.name, "nfs-1");
  EXPECT_FALSE(nfs.isDefault);
  EXPECT_TRUE(nfs.settings.empty());
  EXPECT_EQ(nfs.settingsJson, "{}");

  EXPECT_EQ(config.find("nfs-1"), &config.backends[1]);
  EXPECT_EQ(config.find("nope"), nullptr);
  EXPECT_EQ(config.defaultBackend(), &config.backends[0]);
}

TEST(ParseConfigTest, AppliesDefaultsForOptionalKeys) {
  DriverConfig config = accepted(withBackends("  - {name: a, plugin: nfs}\n"));
  EXPECT_EQ(config.driverName, "polycsi.csi.io");
  EXPECT_EQ(config.pluginDir, "");
  // The only backend is the default even when not marked.
  EXPECT_EQ(config.defaultBackend(), &config.backends[0]);
}

TEST(ParseConfigTest, NoDefaultAmongSeveralUnmarkedBackends) {
  DriverConfig config =
      accepted(withBackends("  - {name: a, plugin: nfs}\n  - {name: b, plugin: nfs}\n"));
  EXPECT_EQ(config.defaultBackend(), nullptr);
}

TEST(ParseConfigTest, RequiresStatePath) {
  EXPECT_EQ(errorOf("backends:\n  - {name: a, plugin: nfs}\n"), "state_path: required");
}

TEST(ParseConfigTest, RequiresAbsolutePaths) {
  EXPECT_EQ(errorOf("state_path: var/lib\nbackends:\n  - {name: a, plugin: nfs}\n"),
            "state_path: must be an absolute path, got 'var/lib'");
  EXPECT_EQ(errorOf("plugin_dir: plugins\n" + withBackends("  - {name: a, plugin: nfs}\n")),
            "plugin_dir: must be an absolute path, got 'plugins'");
}

TEST(ParseConfigTest, RequiresAtLeastOneBackend) {
  EXPECT_EQ(errorOf("state_path: /s\n"), "backends: at least one backend is required");
  EXPECT_EQ(errorOf("state_path: /s\nbackends: []\n"),
            "backends: at least one backend is required");
  EXPECT_EQ(errorOf("state_path: /s\nbackends: {name: a}\n"),
            "backends: must be a list of backends");
}

TEST(ParseConfigTest, RefusesUnknownTopLevelKeys) {
  EXPECT_EQ(errorOf("statepath: /s\n" + withBackends("  - {name: a, plugin: nfs}\n")),
            "statepath: unknown key (expected one of: driver_name, plugin_dir, state_path, "
            "backends, node)");
}

TEST(ParseConfigTest, RefusesUnknownBackendKeys) {
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: nfs, setting: {}}\n")),
            "backends[0].setting: unknown key (expected one of: name, plugin, default, "
            "adopt_rds_csi_volumes, settings, topology)");
}

TEST(ParseConfigTest, ChecksBackendNames) {
  EXPECT_EQ(errorOf(withBackends("  - {plugin: nfs}\n")), "backends[0].name: required");
  EXPECT_EQ(errorOf(withBackends("  - {name: Rds, plugin: nfs}\n")),
            "backends[0].name: must match [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?, got 'Rds'");
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: nfs}\n  - {name: rds-, plugin: nfs}\n")),
            "backends[1].name: must match [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?, got 'rds-'");
  const std::string longName(33, 'a');
  EXPECT_EQ(
      errorOf(withBackends("  - {name: " + longName + ", plugin: nfs}\n")),
      "backends[0].name: must match [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?, got '" + longName + "'");
  EXPECT_EQ(errorOf(withBackends("  - {name: " + std::string(32, 'a') + ", plugin: nfs}\n")), "");
}

TEST(ParseConfigTest, ChecksPluginNames) {
  EXPECT_EQ(errorOf(withBackends("  - {name: a}\n")), "backends[0].plugin: required");
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: ../evil}\n")),
            "backends[0].plugin: must match [a-z0-9_]+, got '../evil'");
}

TEST(ParseConfigTest, RefusesDuplicateBackendNames) {
  EXPECT_EQ(errorOf(withBackends("  - {name: rds, plugin: rds_nvme}\n"
                                 "  - {name: nfs, plugin: nfs}\n"
                                 "  - {name: rds, plugin: nfs}\n")),
            "backends[2].name: duplicate 'rds'");
}

TEST(ParseConfigTest, RefusesMoreThanOneDefault) {
  EXPECT_EQ(errorOf(withBackends("  - {name: rds, plugin: rds_nvme, default: true}\n"
                                 "  - {name: nfs, plugin: nfs, default: true}\n")),
            "backends: more than one default (rds, nfs)");
}

TEST(ParseConfigTest, DefaultMustBeABoolean) {
  EXPECT_EQ(errorOf(withBackends("  - {name: rds, plugin: rds_nvme, default: yes}\n")),
            "backends[0].default: must be true or false, got 'yes'");
}

TEST(ParseConfigTest, OneRdsNvmeBackendMayAdoptRdsCsiVolumes) {
  DriverConfig config =
      accepted(withBackends("  - {name: rds, plugin: rds_nvme, adopt_rds_csi_volumes: true}\n"
                            "  - {name: rds-b, plugin: rds_nvme, adopt_rds_csi_volumes: false}\n"
                            "  - {name: nfs, plugin: nfs}\n"));
  ASSERT_NE(config.rdsCsiAdopter(), nullptr);
  EXPECT_EQ(config.rdsCsiAdopter()->name, "rds");
  EXPECT_FALSE(config.find("rds-b")->adoptRdsCsiVolumes);
  EXPECT_EQ(accepted(withBackends("  - {name: rds, plugin: rds_nvme}\n")).rdsCsiAdopter(), nullptr)
      << "off unless asked for";
}

TEST(ParseConfigTest, RefusesAmbiguousOrMisplacedRdsCsiAdoption) {
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: rds_nvme, adopt_rds_csi_volumes: true}\n"
                                 "  - {name: b, plugin: rds_nvme, adopt_rds_csi_volumes: true}\n")),
            "backends: more than one backend with adopt_rds_csi_volumes: true (a, b); rds-csi's "
            "volume ids name no backend, so only one backend can serve them");
  EXPECT_EQ(errorOf(withBackends("  - {name: n, plugin: nfs, adopt_rds_csi_volumes: true}\n")),
            "backends[0].adopt_rds_csi_volumes: only a backend of plugin rds_nvme can serve "
            "rds-csi's volumes, this one is 'nfs'");
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: rds_nvme, adopt_rds_csi_volumes: 1}\n")),
            "backends[0].adopt_rds_csi_volumes: must be true or false, got '1'");
}

TEST(ParseConfigTest, ChecksSettingsShape) {
  EXPECT_EQ(errorOf(withBackends("  - {name: a, plugin: nfs, settings: [1, 2]}\n")),
            "backends[0].settings: must be a map of setting names to values");
  EXPECT_EQ(errorOf(withBackends("  - name: a\n    plugin: nfs\n    settings:\n      address:\n")),
            "backends[0].settings.address: has no value");
  // `settings:` with nothing under it is an empty map.
  EXPECT_EQ(errorOf(withBackends("  - name: a\n    plugin: nfs\n    settings:\n")), "");
}

// YAML aliases share nodes: ten lines of `&b [*a, *a, ...]` stand for 10^10 values once the
// settings are written out as JSON for the plugin. The conversion stops at 100,000 values.
TEST(ParseConfigTest, RefusesSettingsThatAliasesExpandBeyondBounds) {
  std::string laughs =
      "  - name: a\n    plugin: nfs\n    settings:\n      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string previous = "*l" + std::to_string(level - 1);
    laughs += "      l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) laughs += (i ? ", " : "") + previous;
    laughs += "]\n";
  }
  EXPECT_EQ(errorOf(withBackends(laughs)),
            "backends[0].settings: expands to more than 100000 values (YAML aliases are "
            "expanded; settings are never this large)");
  // Aliases within the bounds are expanded as written.
  const DriverConfig config = accepted(withBackends(
      "  - name: a\n    plugin: nfs\n    settings:\n      p: &p [1, 2]\n      q: [*p, *p]\n"));
  EXPECT_EQ(nlohmann::json::parse(config.backends[0].settingsJson)["q"],
            nlohmann::json::parse("[[1, 2], [1, 2]]"));
}

TEST(ParseConfigTest, RefusesSettingsNestedTooDeeply) {
  const std::string deep = std::string(70, '[') + std::string(70, ']');
  EXPECT_EQ(
      errorOf(withBackends("  - name: a\n    plugin: nfs\n    settings:\n      k: " + deep + "\n")),
      "backends[0].settings: nests lists and maps more than 64 levels deep");
  const std::string fine = std::string(60, '[') + std::string(60, ']');
  EXPECT_EQ(
      errorOf(withBackends("  - name: a\n    plugin: nfs\n    settings:\n      k: " + fine + "\n")),
      "");
}

TEST(ParseConfigTest, RefusesSettingsMapsKeyedByListsOrMaps) {
  EXPECT_EQ(
      errorOf(withBackends("  - name: a\n    plugin: nfs\n    settings:\n      k: {[1]: x}\n")),
      "backends[0].settings: has a map key that is a list or map; keys must be text");
}

TEST(ParseConfigTest, RefusesDuplicateKeys) {
  EXPECT_EQ(errorOf("state_path: /a\nstate_path: /b\nbackends:\n  - {name: a, plugin: nfs}\n"),
            "state_path: given more than once");
}

TEST(ParseConfigTest, ChecksDriverName) {
  EXPECT_EQ(errorOf("driver_name: -bad\n" + withBackends("  - {name: a, plugin: nfs}\n")),
            "driver_name: must be at most 63 characters of [A-Za-z0-9.-], alphanumeric at both "
            "ends, got '-bad'");
}

TEST(ParseConfigTest, RefusesMalformedYamlAndNonMaps) {
  EXPECT_EQ(errorOf(""), "configuration: is empty");
  EXPECT_EQ(errorOf("- a\n- b\n"), "configuration: must be a map of settings");
  EXPECT_EQ(errorOf("state_path: [unclosed\n").rfind("invalid YAML: ", 0), 0u);
}

// Found by fuzzing (tests/fuzz/config_fuzz): a setting holding bytes that are not UTF-8 made
// parseConfig throw nlohmann::json's type_error (turning the settings into JSON) instead of a
// ConfigError; elsewhere the bytes went through unchecked.
TEST(ParseConfigTest, RefusesTextThatIsNotUtf8) {
  const std::string backend = "  - name: a\n    plugin: nfs\n    settings:\n      k: ";
  EXPECT_EQ(errorOf(withBackends(backend + "\"\xff\xfe\"\n")),
            "configuration: is not UTF-8 text: byte 0xFF at line 6, column 11");
  EXPECT_EQ(errorOf("plugin_dir: /usr/\xc0\xafx\n" + withBackends("  - {name: a, plugin: nfs}\n")),
            "configuration: is not UTF-8 text: byte 0xC0 at line 1, column 18");
  // Surrogates and truncated sequences are not UTF-8 either.
  EXPECT_NE(errorOf(withBackends(backend + "\xed\xa0\x80\n")), "");
  EXPECT_NE(errorOf(withBackends(backend + "x\xe2\x82")), "");
  // Every valid sequence length is accepted and kept as written.
  const DriverConfig config =
      accepted(withBackends(backend + "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe\"\n"));
  EXPECT_EQ(config.backends[0].settings.at("k"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe");
  EXPECT_EQ(nlohmann::json::parse(config.backends[0].settingsJson)["k"],
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x92\xbe");
}

// Found by fuzzing (config_fuzz, 2026-12-02): yaml-cpp garbles the control characters YAML
// forbids (a NUL in a setting's name came out as bytes that are not UTF-8, and the settings JSON
// threw nlohmann's type_error past parseConfig). They are refused, with where they are.
TEST(ParseConfigTest, RefusesControlCharactersYamlForbids) {
  const std::string backend = "  - name: a\n    plugin: nfs\n    settings:\n      ";
  const std::string nul("\0", 1);
  EXPECT_EQ(errorOf(withBackends(backend + "nv\x0b" + nul + "_port: 4422\n")),
            "configuration: has a control character YAML does not allow (only tab, line feed and "
            "carriage return): byte 0x0B at line 6, column 9");
  EXPECT_EQ(errorOf(nul + withBackends(backend + "k: v\n")),
            "configuration: has a control character YAML does not allow (only tab, line feed and "
            "carriage return): byte 0x00 at line 1, column 1");
  EXPECT_NE(errorOf(withBackends(backend + "k: \"a\x7f\"\n")), "");
  // Tab, line feed and carriage return are YAML's own: CRLF line ends and a tab in a value pass.
  std::string crlf = withBackends(backend + "k: \"a\tb\"\n");
  for (size_t at = crlf.find('\n'); at != std::string::npos; at = crlf.find('\n', at + 2))
    crlf.insert(at, "\r");
  const DriverConfig config = accepted(crlf);
  EXPECT_EQ(config.backends[0].settings.at("k"), "a\tb");
}

TEST(LoadConfigFileTest, ReadsAFileAndNamesItInErrors) {
  const std::string dir = ::testing::TempDir();
  const std::string good = dir + "/polycsi_config_good.yaml";
  {
    std::ofstream out(good);
    out << kFullConfig;
  }
  auto loaded = loadConfigFile(good);
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  EXPECT_EQ(loaded->backends.size(), 2u);

  const std::string bad = dir + "/polycsi_config_bad.yaml";
  {
    std::ofstream out(bad);
    out << "backends: []\n";
  }
  auto refused = loadConfigFile(bad);
  ASSERT_FALSE(refused.isOk()) << "a config without state_path was accepted";
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), bad + ": state_path: required");
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

TEST(LoadConfigFileTest, NamesAnUnreadableFile) {
  const std::string missing = ::testing::TempDir() + "/polycsi_no_such_config.yaml";
  auto refused = loadConfigFile(missing);
  ASSERT_FALSE(refused.isOk()) << "a missing file was accepted";
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), missing + ": cannot be read: No such file or directory");
}

TEST(LoadConfigFileTest, NamesADirectory) {
  const std::string dir = ::testing::TempDir();
  auto refused = loadConfigFile(dir);
  ASSERT_FALSE(refused.isOk()) << "a directory was accepted";
  EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(refused.status().message(), dir + ": cannot be read: it is a directory");
}

}  // namespace
}  // namespace polycsi::config
