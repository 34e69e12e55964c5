#include "server/storage_fence.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace polycsi::server {
namespace {

using ::testing::HasSubstr;

// A volume whose backend is not configured cannot be fenced from here, so the reconciler must
// keep its attachment: never OK, as ControllerUnpublishVolume's "nothing to unpublish" is.
TEST(StorageFenceTest, AVolumeOfABackendNotConfiguredIsNotFenced) {
  DriverContext driver;  // runs no backend
  const kube::Fencer fence = makeBackendFencer(driver);
  const Status unknownBackend = fence("rds:pvc-1", "node-a|rds_nvme=nqn.2014-08.org:a");
  EXPECT_EQ(unknownBackend.code(), Code::kFailedPrecondition);
  EXPECT_THAT(unknownBackend.message(),
              HasSubstr("cannot close the storage fence of volume rds:pvc-1"));
  EXPECT_THAT(unknownBackend.message(),
              HasSubstr("'rds', which is not in this driver's configuration"));
  const Status notOurs = fence("not-a-polycsi-id", "node-a");
  EXPECT_EQ(notOurs.code(), Code::kFailedPrecondition);
  EXPECT_THAT(notOurs.message(), HasSubstr("not-a-polycsi-id"));
}

}  // namespace
}  // namespace polycsi::server
