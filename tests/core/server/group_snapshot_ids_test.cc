#include "server/group_snapshot_ids.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "volume/volume_id.hpp"

namespace polycsi::server {
namespace {

const std::vector<std::string> kVm1 = {"rds:pvc-a", "rds:pvc-b", "rds:pvc-c"};

TEST(GroupSnapshotIdsTest, TheIdDependsOnTheNameAndTheVolumesOnly) {
  const std::string id = groupLocalId("groupsnapshot-1c3b", kVm1);
  EXPECT_EQ(id, groupLocalId("groupsnapshot-1c3b", kVm1)) << "deterministic";
  EXPECT_EQ(id.rfind(groupIdPrefixForName("groupsnapshot-1c3b"), 0), 0u);
  EXPECT_EQ(id.rfind("grp-groupsnapshot-1c3b-", 0), 0u) << id;
  EXPECT_NE(id, groupLocalId("groupsnapshot-1c3c", kVm1));
  EXPECT_NE(id, groupLocalId("groupsnapshot-1c3b", {"rds:pvc-a", "rds:pvc-b"}));
  EXPECT_NE(id, groupLocalId("groupsnapshot-1c3b", {"rds:pvc-a", "rds:pvc-b", "rds:pvc-d"}));
  // Names that read alike still differ by their hash.
  EXPECT_NE(groupIdPrefixForName("VM_1"), groupIdPrefixForName("vm-1"));
}

TEST(GroupSnapshotIdsTest, IdsAndMemberNamesAreValidLocalIdsOfBoundedLength) {
  const std::string longName(253, 'x');
  const std::string id = groupLocalId(longName + "/Ünïcode", kVm1);
  EXPECT_LE(id.size(), 70u) << id;
  EXPECT_TRUE(volume::isValidLocalId(id)) << id;
  EXPECT_TRUE(isGroupLocalId(id)) << id;
  const std::string member = groupMemberName(id, kMaxGroupMembers - 1);
  EXPECT_LE(member.size(), 74u) << member;
  EXPECT_TRUE(volume::isValidLocalId(member)) << member;
  EXPECT_EQ(groupMemberName(id, 0), id + "-m0");
}

TEST(GroupSnapshotIdsTest, OnlyTheShapeTheCoreMakesIsAGroup) {
  EXPECT_TRUE(isGroupLocalId(groupLocalId("a", kVm1)));
  for (const char* other :
       {"grp-never-made-0123456789abcdef", "snap-0123", "grp--0123456789abcdef-0123456",
        "grp-x-0123456789abcdeg-01234567", "grp-X-0123456789abcdef-01234567",
        "grp-x_0123456789abcdef-01234567", ""})
    EXPECT_FALSE(isGroupLocalId(other)) << other;
  EXPECT_TRUE(isGroupLocalId("grp--0123456789abcdef-01234567")) << "an empty readable part";
}

}  // namespace
}  // namespace polycsi::server
