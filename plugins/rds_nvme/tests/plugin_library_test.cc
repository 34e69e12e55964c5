// Loads the built polycsi_rds_nvme.so as the core does and checks its one export.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "polycsi/plugin_client.hpp"
#include "polycsi/testing/fake_host.hpp"

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

}  // namespace
}  // namespace polycsi::rds_nvme
