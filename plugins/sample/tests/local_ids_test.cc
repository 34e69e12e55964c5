#include "local_ids.hpp"

#include <gtest/gtest.h>

#include "polycsi/types.hpp"

namespace polycsi::sample {
namespace {

TEST(LocalIds, DerivedFromTheNameDeterministically) {
  std::string a = deriveLocalId(IdKind::kVolume, "pvc-0a1b");
  EXPECT_EQ(a, deriveLocalId(IdKind::kVolume, "pvc-0a1b"));
  EXPECT_NE(a, deriveLocalId(IdKind::kVolume, "pvc-0a1c"));
  EXPECT_TRUE(a.starts_with("vol-pvc-0a1b-")) << a;
  EXPECT_TRUE(deriveLocalId(IdKind::kSnapshot, "pvc-0a1b").starts_with("snap-pvc-0a1b-"));
}

TEST(LocalIds, NamesThatSanitizeAlikeStillDiffer) {
  // Both sanitize to "a-b"; the hash of the full name keeps them apart.
  EXPECT_NE(deriveLocalId(IdKind::kVolume, "a/b"), deriveLocalId(IdKind::kVolume, "a.b"));
  EXPECT_NE(deriveLocalId(IdKind::kVolume, "A"), deriveLocalId(IdKind::kVolume, "a"));
}

TEST(LocalIds, AnyNameGivesALegalBoundedId) {
  std::string hostile = "../../etc/passwd\n\x01\xff" + std::string(500, 'Z');
  std::string id = deriveLocalId(IdKind::kSnapshot, hostile);
  EXPECT_TRUE(isLegalLocalId(id)) << id;
  EXPECT_LE(id.size(), kMaxLocalIdBytes);
  EXPECT_EQ(id.find('/'), std::string::npos);
  EXPECT_TRUE(hasLocalIdShape(IdKind::kSnapshot, id)) << id;
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, id)) << id;
}

TEST(LocalIds, Fnv1aMatchesReferenceValues) {
  // Published FNV-1a 64 test vectors.
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
}

TEST(LocalIds, LegalityRefusesPathsAndOddCharacters) {
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs", "a b", "a\nb", "x\\y"})
    EXPECT_FALSE(isLegalLocalId(bad)) << bad;
  EXPECT_FALSE(isLegalLocalId(std::string(97, 'a')));
  for (const char* good : {"a", "vol-x-0123456789abcdef", "A.b_c-d", "...", "..a"})
    EXPECT_TRUE(isLegalLocalId(good)) << good;
  EXPECT_TRUE(isLegalLocalId(std::string(96, 'a')));
}

TEST(LocalIds, RequireLegalThrowsInvalidArgument) {
  try {
    requireLegalLocalId("../x", "volume id");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("volume id '../x'"), std::string::npos) << e.what();
  }
}

TEST(LocalIds, ShapeChecksPrefixReadablePartAndHash) {
  EXPECT_TRUE(hasLocalIdShape(IdKind::kVolume, "vol-abc-0123456789abcdef"));
  EXPECT_TRUE(hasLocalIdShape(IdKind::kVolume, "vol--0123456789abcdef"));
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, "vol-abc-0123456789ABCDEF"));  // upper hex
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, "vol-abc_0123456789abcdef"));  // no dash
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, "vol-a.c-0123456789abcdef"));  // bad char
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, "snap-abc-0123456789abcdef"));
  EXPECT_FALSE(hasLocalIdShape(IdKind::kVolume, "vol-0123456789abcdef"));
  EXPECT_FALSE(
      hasLocalIdShape(IdKind::kVolume, "vol-" + std::string(41, 'a') + "-0123456789abcdef"));
}

}  // namespace
}  // namespace polycsi::sample
