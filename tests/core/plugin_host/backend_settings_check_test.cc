// The settings checks serve and validate-config share (checkBackendBeforeStart), against the
// roles fixture (ABI 1.2: role-bound settings, check_settings) and the same backend built as
// ABI 1.1 (neither), through the loader and BackendRegistry as the core uses them.
#include "plugin_host/backend_settings_check.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "config/driver_config.hpp"
#include "plugin_host/backend_registry.hpp"
#include "temp_directory.hpp"

namespace polycsi::plugin_host {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Problems = std::vector<std::string>;

const std::string kPluginDir = POLYCSI_TEST_PLUGIN_DIR;

class BackendSettingsCheckTest : public ::testing::Test {
 protected:
  config::DriverConfig configWith(const std::string& plugin, const std::string& settings) {
    return parsed("state_path: " + statePath_.str() + "\nbackends:\n  - name: b\n" +
                  "    plugin: " + plugin + "\n    settings: " + settings + "\n");
  }
  static config::DriverConfig parsed(const std::string& yaml) {
    auto config = config::parseConfig(yaml);
    EXPECT_TRUE(config.isOk()) << config.status().toString();
    return config.isOk() ? *config : config::DriverConfig{};
  }
  std::shared_ptr<LoadedPlugin> load(const std::string& name) {
    auto plugin = loadPlugin(pluginPath(kPluginDir, name));
    EXPECT_TRUE(plugin.isOk()) << plugin.status().toString();
    return plugin.isOk() ? *plugin : nullptr;
  }
  Problems check(const std::string& plugin, const std::string& settings, Role role) {
    auto loaded = load(plugin);
    if (!loaded) return {"not loaded"};
    return checkBackendBeforeStart(configWith(plugin, settings), 0, *loaded, role);
  }
  bool alive() const { return fs::exists(statePath_.path() / "backends" / "b" / "alive"); }
  bool everStarted() const { return fs::exists(statePath_.path() / "backends" / "b" / "started"); }

  polycsi::testing::TempDir statePath_{"polycsi-settings-check"};
};

TEST_F(BackendSettingsCheckTest, EachRoleRequiresOnlyWhatItNeeds) {
  EXPECT_THAT(check("roles", "{device_dir: /dev}", Role::kController),
              ElementsAre("backends[0].settings.address: required for the controller"));
  EXPECT_THAT(check("roles", "{address: a}", Role::kNode),
              ElementsAre("backends[0].settings.device_dir: required for the node"));
  EXPECT_EQ(check("roles", "{address: a}", Role::kController), Problems{});
  EXPECT_EQ(check("roles", "{device_dir: /dev}", Role::kNode), Problems{});
  // Serving both (serve's default) needs what either role needs.
  EXPECT_THAT(check("roles", "{port: 1}", Role::kAll),
              ElementsAre("backends[0].settings.address: required for the controller",
                          "backends[0].settings.device_dir: required for the node"));
  EXPECT_EQ(check("roles", "{address: a, device_dir: /dev}", Role::kAll), Problems{});
}

TEST_F(BackendSettingsCheckTest, RunsThePluginsOwnCheckAfterTheSpecs) {
  EXPECT_THAT(check("roles", "{address: a b, device_dir: /dev}", Role::kAll),
              ElementsAre("backends[0].settings: setting 'address' must not contain a space, "
                          "got 'a b'"));
  // A spec problem comes alone: the plugin may rely on what the specs guarantee.
  EXPECT_THAT(check("roles", "{address: a b, port: x}", Role::kController),
              ElementsAre("backends[0].settings.port: must be an integer, got 'x'"));
}

// A plugin built against ABI 1.1 loads as before: no role requirements are read from its
// descriptor and no check_settings is called past the end of its table.
TEST_F(BackendSettingsCheckTest, AnAbi11PluginHasNeitherRolesNorASettingsCheck) {
  auto plugin = load("abi_1_1");
  ASSERT_NE(plugin, nullptr);
  EXPECT_EQ(plugin->abiVersion(), "1.1");
  EXPECT_EQ(plugin->table()->check_settings, nullptr);
  ASSERT_EQ(plugin->descriptor().settings.size(), 3u);
  EXPECT_EQ(plugin->descriptor().settings[0].requiredIn, std::nullopt);
  EXPECT_EQ(check("abi_1_1", "{port: 1}", Role::kAll), Problems{});
  EXPECT_EQ(check("abi_1_1", "{address: a b}", Role::kController), Problems{});
}

// serve runs the same check for every backend before it inits any, so a refused setting is
// reported with the same text and nothing started.
TEST_F(BackendSettingsCheckTest, ServeRefusesWithTheSameMessageBeforeAnyInit) {
  BackendRegistry registry;
  const config::DriverConfig config =
      parsed("state_path: " + statePath_.str() +
             "\nbackends:\n  - {name: b, plugin: roles, settings: {address: a, "
             "device_dir: /dev}}\n  - {name: c, plugin: roles, settings: {address: "
             "a b, device_dir: /dev}}\n");
  Status status = registry.start(config, kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "backends[1] (c): settings: setting 'address' must not contain a space, got 'a b'");
  EXPECT_FALSE(everStarted()) << "backend b was started before c's settings were checked";

  BackendRegistry nodeOnly;
  status =
      nodeOnly.start(configWith("roles", "{device_dir: /dev}"), kPluginDir, Role::kNode, nullptr);
  EXPECT_TRUE(status.isOk()) << status.toString();
  EXPECT_TRUE(alive());
}

}  // namespace
}  // namespace polycsi::plugin_host
