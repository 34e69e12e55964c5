#include "volume/volume_id.hpp"

#include <gtest/gtest.h>

#include <string>

namespace polycsi::volume {
namespace {

TEST(VolumeIdTest, RoundTrips) {
  auto text = encodeVolumeId({"rds", "pvc-1234.abc_X"});
  ASSERT_TRUE(text.isOk()) << text.status().toString();
  EXPECT_EQ(*text, "rds:pvc-1234.abc_X");
  auto id = decodeVolumeId(*text);
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_EQ(id->backend, "rds");
  EXPECT_EQ(id->local, "pvc-1234.abc_X");
}

TEST(VolumeIdTest, AcceptsExactlyTheMaximumLength) {
  // 31 + ':' + 96 = 128 bytes.
  VolumeId longest{std::string(31, 'b'), std::string(96, 'l')};
  auto text = encodeVolumeId(longest);
  ASSERT_TRUE(text.isOk()) << text.status().toString();
  EXPECT_EQ(text->size(), kMaxVolumeIdBytes);
  auto back = decodeVolumeId(*text);
  ASSERT_TRUE(back.isOk()) << back.status().toString();
  EXPECT_EQ(back->backend, longest.backend);
  EXPECT_EQ(back->local, longest.local);
}

TEST(VolumeIdTest, RefusesOneByteOverTheMaximum) {
  // Both parts are valid on their own (32 and 96 bytes), but together they make 129.
  auto text = encodeVolumeId({std::string(32, 'b'), std::string(96, 'l')});
  ASSERT_FALSE(text.isOk());
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_NE(text.status().message().find("129 bytes, more than 128"), std::string::npos)
      << text.status().message();
  auto decoded = decodeVolumeId(std::string(32, 'b') + ":" + std::string(96, 'l'));
  EXPECT_EQ(decoded.status().code(), Code::kNotFound);
}

TEST(VolumeIdTest, LocalIdLimit) {
  EXPECT_TRUE(isValidLocalId(std::string(96, 'a')));
  EXPECT_FALSE(isValidLocalId(std::string(97, 'a')));
  EXPECT_FALSE(isValidLocalId(""));
  auto text = encodeVolumeId({"a", std::string(97, 'a')});
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
}

TEST(VolumeIdTest, BackendNames) {
  EXPECT_TRUE(isValidBackendName("a"));
  EXPECT_TRUE(isValidBackendName("rds-1"));
  EXPECT_TRUE(isValidBackendName(std::string(32, 'x')));
  EXPECT_FALSE(isValidBackendName(std::string(33, 'x')));
  EXPECT_FALSE(isValidBackendName(""));
  EXPECT_FALSE(isValidBackendName("-rds"));
  EXPECT_FALSE(isValidBackendName("rds-"));
  EXPECT_FALSE(isValidBackendName("Rds"));
  EXPECT_FALSE(isValidBackendName("rds_1"));
}

TEST(VolumeIdTest, EncodeRefusesBadCharacters) {
  for (const char* local : {"a:b", "a/b", "a b", "a|b", "ä"}) {
    auto text = encodeVolumeId({"rds", local});
    EXPECT_EQ(text.status().code(), Code::kInvalidArgument) << local;
    EXPECT_NE(text.status().message().find("[A-Za-z0-9._-]"), std::string::npos);
  }
  auto text = encodeVolumeId({"RDS", "x"});
  EXPECT_EQ(text.status().code(), Code::kInvalidArgument);
  EXPECT_NE(text.status().message().find("backend name 'RDS'"), std::string::npos);
}

TEST(VolumeIdTest, UnknownIdsAreNotFoundWithAReason) {
  struct Case {
    std::string text;
    std::string why;
  };
  const Case cases[] = {
      {"", "it is empty"},
      {"pvc-123", "no ':' between backend and local id"},
      {":pvc", "'' is no backend name"},
      {"rds:", "'' is no valid local id"},
      {"rds:a:b", "'a:b' is no valid local id"},
      {"RDS:x", "'RDS' is no backend name"},
      {"rds:../../etc", "'../../etc' is no valid local id"},
      {std::string(200, 'x'), "longer than 128 bytes"},
  };
  for (const auto& c : cases) {
    auto id = decodeVolumeId(c.text);
    ASSERT_FALSE(id.isOk()) << c.text;
    EXPECT_EQ(id.status().code(), Code::kNotFound) << c.text;
    EXPECT_EQ(id.status().message(),
              "volume id '" + c.text + "' is not a polycsi volume id: " + c.why);
  }
}

}  // namespace
}  // namespace polycsi::volume
