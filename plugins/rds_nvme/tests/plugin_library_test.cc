// Loads the built polycsi_rds_nvme.so as the core does and checks its one export.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "polycsi/plugin_client.hpp"
#include "polycsi/testing/fake_host.hpp"
#include "rds_settings.hpp"

namespace polycsi::rds_nvme {
namespace {

TEST(RdsPluginLibrary, LoadsAndPassesTheHostsTableCheck) {
  void* handle = ::dlopen(POLYCSI_RDS_NVME_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  using Entry = const polycsi_plugin_api* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "polycsi_plugin_entry"));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(checkPluginTable(entry(), "polycsi_rds_nvme.so"), "");
  EXPECT_EQ(polycsi::testing::FakeHost::describe(entry()).name, "rds_nvme");
  // Nothing else is exported (e.g. libssh wrappers or std:: templates).
  EXPECT_EQ(
      ::dlsym(handle,
              "_ZN7polycsi8rds_nvme16parseRouterOsSizeESt17basic_string_viewIcSt11char_traitsIcEE"),
      nullptr);
  ::dlclose(handle);
}

// The core checks the declared specs for the mode it serves: a node-only instance (only
// host_nqn_file and the node timeouts) must pass, so no setting is required in every role, and
// the controller's router address, SSH user and base path are declared as the controller's.
TEST(RdsPluginLibrary, DeclaresTheControllersSettingsAsTheControllersOnly) {
  void* handle = ::dlopen(POLYCSI_RDS_NVME_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  using Entry = const polycsi_plugin_api* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "polycsi_plugin_entry"));
  ASSERT_NE(entry, nullptr);
  const auto descriptor = polycsi::testing::FakeHost::describe(entry());
  ASSERT_FALSE(descriptor.settings.empty());
  std::vector<std::string> controllerOnly;
  for (const auto& spec : descriptor.settings) {
    EXPECT_FALSE(spec.requiredFor(Role::kNode)) << spec.name << " is required on a node";
    if (spec.requiredFor(Role::kController)) controllerOnly.push_back(spec.name);
  }
  EXPECT_EQ(controllerOnly, (std::vector<std::string>{"address", "user", "base_path"}));
  EXPECT_NE(entry()->check_settings, nullptr);
  ::dlclose(handle);
}

TEST(RdsSettingsParse, OnlyTheControllerRequiresTheRouterAndItsCredentials) {
  const RdsSettings node = RdsSettings::parse({{"host_nqn_file", "/etc/nvme/hostnqn"}}, false);
  EXPECT_FALSE(node.address.has_value());
  try {
    RdsSettings::parse({{"host_nqn_file", "/etc/nvme/hostnqn"}}, true);
    FAIL() << "a controller without an address was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'address' is required"), std::string::npos) << e.what();
  }
}

// Unknown keys are the core's to refuse (config::checkBackendSettings, from the descriptor), with
// one message naming the keys the plugin knows; the plugin does not check them a second time.
TEST(RdsSettingsParse, LeavesUnknownKeysToTheCore) {
  const RdsSettings parsed = RdsSettings::parse({{"adress", "10.0.0.1"}, {"port", "2222"}}, false);
  EXPECT_FALSE(parsed.address.has_value());
  EXPECT_EQ(parsed.port.value(), 2222);
}

// Every declared key reaches its field: the key table is the parser.
TEST(RdsSettingsParse, ReadsEveryDeclaredKey) {
  const RdsSettings s = RdsSettings::parse({{"address", "10.0.0.1"},
                                            {"port", "2222"},
                                            {"user", "admin"},
                                            {"password", "pw"},
                                            {"insecure_ignore_host_key", "true"},
                                            {"base_path", "/storage-pool/k8s"},
                                            {"pool", "storage-pool"},
                                            {"nvme_address", "10.0.0.2"},
                                            {"nvme_port", "4421"},
                                            {"nqn_prefix", "nqn.2000-02.com.example"},
                                            {"volume_prefix", "vol-"},
                                            {"command_timeout_seconds", "31"},
                                            {"copy_timeout_seconds", "61"},
                                            {"pool_size", "3"},
                                            {"keepalive_interval_seconds", "6"},
                                            {"fencing", "false"},
                                            {"delete_orphans", "true"},
                                            {"orphan_scan_interval_seconds", "0"},
                                            {"host_nqn_file", "/etc/nvme/other"},
                                            {"ctrl_loss_tmo_seconds", "100"},
                                            {"reconnect_delay_seconds", "7"},
                                            {"keep_alive_tmo_seconds", "8"},
                                            {"device_timeout_seconds", "9"}},
                                           true);
  EXPECT_EQ(s.address->str(), "10.0.0.1");
  EXPECT_EQ(s.port.value(), 2222);
  EXPECT_EQ(s.user, "admin");
  EXPECT_EQ(s.password, "pw");
  EXPECT_TRUE(s.insecureIgnoreHostKey);
  EXPECT_EQ(s.basePath->str(), "/storage-pool/k8s");
  EXPECT_EQ(s.pool->str(), "storage-pool");
  EXPECT_EQ(s.nvmeAddress->str(), "10.0.0.2");
  EXPECT_EQ(s.nvmePort.value(), 4421);
  EXPECT_EQ(s.nqnPrefix.str(), "nqn.2000-02.com.example");
  EXPECT_EQ(s.volumePrefix.str(), "vol-");
  EXPECT_EQ(s.commandTimeout.count(), 31);
  EXPECT_EQ(s.copyTimeout.count(), 61);
  EXPECT_EQ(s.poolSize, 3);
  EXPECT_EQ(s.keepaliveInterval.count(), 6);
  EXPECT_FALSE(s.fencing);
  EXPECT_TRUE(s.deleteOrphans);
  EXPECT_EQ(s.orphanScanInterval.count(), 0);
  EXPECT_EQ(s.hostNqnFile, "/etc/nvme/other");
  EXPECT_EQ(s.ctrlLossTmo.count(), 100);
  EXPECT_EQ(s.reconnectDelay.count(), 7);
  EXPECT_EQ(s.keepAliveTmo.count(), 8);
  EXPECT_EQ(s.deviceTimeout.count(), 9);
}

TEST(RdsSettingsParse, NamesTheKeyAndRangeOfABadValue) {
  const auto messageOf = [](const StringMap& settings) {
    try {
      RdsSettings::parse(settings, false);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInvalidArgument);
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(messageOf({{"pool_size", "17"}}),
            "setting 'pool_size' must be an integer from 1 to 16, got '17'");
  EXPECT_EQ(messageOf({{"orphan_scan_interval_seconds", "30"}}),
            "setting 'orphan_scan_interval_seconds' must be 0 (off) or from 60 to 86400");
  EXPECT_EQ(messageOf({{"fencing", "yes"}}), "setting 'fencing' must be true or false, got 'yes'");
  EXPECT_EQ(messageOf({{"reconnect_delay_seconds", "700"}, {"ctrl_loss_tmo_seconds", "600"}}),
            "setting 'reconnect_delay_seconds' must not exceed 'ctrl_loss_tmo_seconds': the kernel "
            "would give up before its first reconnect");
  EXPECT_NE(messageOf({{"base_path", "/a b"}}).find("setting 'base_path'"), std::string::npos);
}

}  // namespace
}  // namespace polycsi::rds_nvme
