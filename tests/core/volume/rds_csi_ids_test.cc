#include "volume/rds_csi_ids.hpp"

#include <gtest/gtest.h>

#include <string>

namespace polycsi::volume {
namespace {

TEST(RdsCsiIdsTest, VolumeIdIsExactlyPvcAndALowercaseUuid) {
  EXPECT_TRUE(isRdsCsiVolumeId("pvc-0a1b2c3d-1111-4222-8333-444455556666"));
  // The looser ids rds-csi also accepted (its sanity tests) are ambiguous: never its volumes.
  EXPECT_FALSE(isRdsCsiVolumeId("pvc-0A1B2C3D-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isRdsCsiVolumeId("pvc-0a1b2c3d-1111-4222-8333-44445555666"));
  EXPECT_FALSE(isRdsCsiVolumeId("pvc-0a1b2c3d-1111-4222-8333-4444555566667"));
  EXPECT_FALSE(isRdsCsiVolumeId("pvc-0a1b2c3d11114222-8333-444455556666-"));
  EXPECT_FALSE(isRdsCsiVolumeId("pvc-0a1b2c3d-1111-4222-8333-44445555666g"));
  EXPECT_FALSE(isRdsCsiVolumeId("0a1b2c3d-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isRdsCsiVolumeId("rds:pvc-0a1b2c3d-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isRdsCsiVolumeId("sanity-volume"));
  EXPECT_FALSE(isRdsCsiVolumeId(""));
}

TEST(RdsCsiIdsTest, SnapshotIdHasTheUuidAndAnOptionalHexTimestamp) {
  EXPECT_TRUE(isRdsCsiSnapshotId("snap-0a1b2c3d-1111-4222-8333-444455556666-at-18f2a9c1b"));
  EXPECT_TRUE(isRdsCsiSnapshotId("snap-0a1b2c3d-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isRdsCsiSnapshotId("snap-0a1b2c3d-1111-4222-8333-444455556666-at-"));
  EXPECT_FALSE(isRdsCsiSnapshotId("snap-0a1b2c3d-1111-4222-8333-444455556666-at-XYZ"));
  EXPECT_FALSE(isRdsCsiSnapshotId("snap-0a1b2c3d-1111-4222-8333-444455556666-on-1f"));
  // polycsi's own snapshot slots ("snap-<32 hex>") are not rds-csi's.
  EXPECT_FALSE(isRdsCsiSnapshotId("snap-0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(isRdsCsiSnapshotId("pvc-0a1b2c3d-1111-4222-8333-444455556666"));
}

TEST(RdsCsiIdsTest, LooserIdsThatDriverAcceptedAreAmbiguous) {
  EXPECT_TRUE(isAmbiguousRdsCsiId("sanity-volume-1"));
  EXPECT_TRUE(isAmbiguousRdsCsiId("pvc-0A1B2C3D-1111-4222-8333-444455556666"));
  EXPECT_TRUE(isAmbiguousRdsCsiId("snap-bad"));
  EXPECT_TRUE(isAmbiguousRdsCsiId(std::string(250, 'v')));
  // Exact shapes are not ambiguous; what that driver refused cannot be its volume.
  EXPECT_FALSE(isAmbiguousRdsCsiId("pvc-0a1b2c3d-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isAmbiguousRdsCsiId("snap-0a1b2c3d-1111-4222-8333-444455556666-at-1f"));
  EXPECT_FALSE(isAmbiguousRdsCsiId("0A1B2C3D-1111-4222-8333-444455556666"));
  EXPECT_FALSE(isAmbiguousRdsCsiId(std::string(251, 'v')));
  EXPECT_FALSE(isAmbiguousRdsCsiId("rds:pvc-x"));
  EXPECT_FALSE(isAmbiguousRdsCsiId("vol_1"));
  EXPECT_FALSE(isAmbiguousRdsCsiId(""));
}

}  // namespace
}  // namespace polycsi::volume
