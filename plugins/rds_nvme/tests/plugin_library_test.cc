// Loads the built polycsi_rds_nvme.so as the core does and checks its one export.
#include <dlfcn.h>
#include <gtest/gtest.h>

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
  EXPECT_EQ(::dlsym(handle, "_ZN7polycsi8rds_nvme16parseRouterOsSizeESt17basic_string_viewIcSt11char_traitsIcEE"),
            nullptr);
  ::dlclose(handle);
}

// The core checks the declared specs in every mode; a node-only instance (only host_nqn_file
// and the node timeouts) must pass that check, so no SSH setting may be declared required.
TEST(RdsPluginLibrary, ANodeOnlyInstanceNeedsNoSshSettings) {
  void* handle = ::dlopen(POLYCSI_RDS_NVME_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  using Entry = const polycsi_plugin_api* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, "polycsi_plugin_entry"));
  ASSERT_NE(entry, nullptr);
  const auto descriptor = polycsi::testing::FakeHost::describe(entry());
  ASSERT_FALSE(descriptor.settings.empty());
  for (const auto& spec : descriptor.settings)
    EXPECT_FALSE(spec.required) << spec.name << " is declared required";
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

}  // namespace
}  // namespace polycsi::rds_nvme
