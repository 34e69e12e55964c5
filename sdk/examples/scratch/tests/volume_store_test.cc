// The on-disk volume records: atomic, sorted, strict about damage.
#include "volume_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "polycsi/types.hpp"
#include "scratch_test_env.hpp"

namespace scratch::testing {
namespace {

using ::testing::HasSubstr;

TEST(VolumeIdTest, AcceptsOnlyShortPlainNames) {
  for (const char* id : {"pvc-1", "a", "A.b_c-9", "0abc"}) EXPECT_TRUE(isValidVolumeId(id)) << id;
  for (const std::string& id : {std::string(), std::string("-a"), std::string(".hidden"),
                                std::string("a/b"), std::string("a b"), std::string(57, 'x')})
    EXPECT_FALSE(isValidVolumeId(id)) << id;
  EXPECT_TRUE(isValidVolumeId(std::string(56, 'x')));
}

TEST(VolumeStoreTest, SavesFindsListsAndRemoves) {
  TempDir dir;
  VolumeStore store(dir.path() + "/records");
  EXPECT_FALSE(store.find("pvc-b").has_value());
  store.save({"pvc-b", 8192, "1777"});
  store.save({"pvc-a", 4096, "0700"});
  store.save({"pvc-b", 16384, "1777"});  // replaced, not duplicated
  auto found = store.find("pvc-b");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->capacityBytes, 16384);
  auto all = store.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "pvc-a");
  EXPECT_EQ(all[0].mode, "0700");
  EXPECT_EQ(all[1].id, "pvc-b");
  EXPECT_TRUE(store.remove("pvc-a"));
  EXPECT_FALSE(store.remove("pvc-a"));
  EXPECT_EQ(store.all().size(), 1u);
}

TEST(VolumeStoreTest, ADamagedRecordIsAnErrorNotAMissingVolume) {
  TempDir dir;
  VolumeStore store(dir.path());
  std::ofstream(dir.path() + "/pvc-bad.volume") << "capacity_bytes=lots\nmode=1777\n";
  try {
    store.find("pvc-bad");
    FAIL() << "a damaged record was accepted";
  } catch (const polycsi::Error& e) {
    EXPECT_EQ(e.code(), polycsi::Code::kInternal);
    EXPECT_THAT(e.what(), HasSubstr("pvc-bad.volume is damaged"));
  }
}

}  // namespace
}  // namespace scratch::testing
