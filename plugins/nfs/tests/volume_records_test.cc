#include "volume_records.hpp"

#include <gtest/gtest.h>

namespace polycsi::nfs {
namespace {

TEST(VolumeRecordIds, UsableNamesAreKept) {
  EXPECT_EQ(deriveId(RecordKind::kVolume, "pvc-0a1b2c3d-1111-2222-3333-444455556666"),
            "pvc-0a1b2c3d-1111-2222-3333-444455556666");
  EXPECT_EQ(deriveId(RecordKind::kSnapshot, "snapshot-1"), "s-snapshot-1");
}

TEST(VolumeRecordIds, OtherNamesAreHashedDistinctly) {
  std::string a = deriveId(RecordKind::kVolume, "has space");
  std::string b = deriveId(RecordKind::kVolume, "has spacf");
  EXPECT_EQ(a.rfind("h-", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(isRecordId(a));
  EXPECT_EQ(deriveId(RecordKind::kVolume, "has space"), a) << "ids must be stable";
  // Names that look like derived ids are hashed too, so they never collide with one.
  EXPECT_EQ(deriveId(RecordKind::kVolume, "s-1").rfind("h-", 0), 0u);
  EXPECT_EQ(deriveId(RecordKind::kVolume, std::string(65, 'a')).rfind("h-", 0), 0u);
  EXPECT_EQ(deriveId(RecordKind::kVolume, "a.b").rfind("h-", 0), 0u);
}

TEST(VolumeRecordIds, RecordIdsNeverNameAPath) {
  for (const char* bad : {"", "..", "a/b", "a.json", "-a", "a b"})
    EXPECT_FALSE(isRecordId(bad)) << bad;
}

}  // namespace
}  // namespace polycsi::nfs
