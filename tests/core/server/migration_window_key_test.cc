#include "server/migration_window_key.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "server/csi_validation.hpp"

namespace polycsi::server {
namespace {

std::optional<std::string> keyFor(const std::set<std::string>& keys, bool adopted) {
  return migrationWindowKey([&](const char* k) { return keys.count(k) > 0; }, adopted);
}

TEST(MigrationWindowKeyTest, PolycsisKeyFirstThenRdsCsisOnlyForItsAdoptedVolumes) {
  const std::string polycsi = kContextMigrationTimeout;
  const std::string rdsCsi = "migrationTimeoutSeconds";
  EXPECT_EQ(keyFor({polycsi, rdsCsi}, true), polycsi);
  EXPECT_EQ(keyFor({polycsi}, false), polycsi);
  // A PV rds-csi created carries only its own key (pkg/driver/controller.go).
  EXPECT_EQ(keyFor({rdsCsi}, true), rdsCsi);
  // Any other volume's context is the plugin's to fill: that key means nothing there.
  EXPECT_EQ(keyFor({rdsCsi}, false), std::nullopt);
  EXPECT_EQ(keyFor({}, true), std::nullopt);
}

}  // namespace
}  // namespace polycsi::server
