// The example configurations in config/ (a PowerStore NAS export and a plain Linux one) are
// what users copy: they must load, pass the core's check against the plugin's descriptor and
// the plugin's own parsing as a controller (template, permissions, onDelete, mount options).
#include <gtest/gtest.h>

#include "config/driver_config.hpp"
#include "nfs_settings.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::nfs {
namespace {

class NfsExampleConfig : public ::testing::TestWithParam<const char*> {};

TEST_P(NfsExampleConfig, LoadsAndParsesAsAController) {
  const std::string path = std::string(POLYCSI_SOURCE_DIR) + "/config/" + GetParam();
  config::DriverConfig loaded = config::loadConfigFile(path).value();
  Descriptor descriptor = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  int nfsBackends = 0;
  for (size_t i = 0; i < loaded.backends.size(); ++i) {
    if (loaded.backends[i].plugin != "nfs") continue;
    ++nfsBackends;
    EXPECT_TRUE(config::checkBackendSettings(loaded, i, descriptor).empty()) << path;
    NfsSettings settings = NfsSettings::parse(loaded.backends[i].settings, true);
    ASSERT_TRUE(settings.home.has_value()) << path;
    EXPECT_FALSE(settings.mountOptions.empty()) << path << ": examples show node mount options";
  }
  EXPECT_EQ(nfsBackends, 1) << path;
}

INSTANTIATE_TEST_SUITE_P(Examples, NfsExampleConfig,
                         ::testing::Values("nfs-linux.yaml", "nfs-powerstore-nas.yaml"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = info.param;
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace polycsi::nfs
