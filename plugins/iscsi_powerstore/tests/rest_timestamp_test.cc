// RFC 3339 times as PowerStore answers them (creation_timestamp): the forms the array and the
// simulator write, offsets, fractions, and what is not a time.
#include "rest_timestamp.hpp"

#include <gtest/gtest.h>

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int64_t kSecond = 1000000000;

TEST(RestTimestampTest, ReadsTheArraysFormWithOffsetAndFraction) {
  // 2023-01-31T07:49:52Z is 1675151392 s after the epoch.
  EXPECT_EQ(parseRfc3339UnixNs("2023-01-31T07:49:52.123+00:00"), 1675151392 * kSecond + 123000000);
  EXPECT_EQ(parseRfc3339UnixNs("2023-01-31T07:49:52Z"), 1675151392 * kSecond);
  EXPECT_EQ(parseRfc3339UnixNs("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339UnixNs("2000-02-29T12:00:00.000000000001Z"), 951825600 * kSecond)
      << "digits beyond nanoseconds are dropped";
}

TEST(RestTimestampTest, OffsetsAreSubtracted) {
  EXPECT_EQ(parseRfc3339UnixNs("2023-01-31T09:49:52+02:00"), 1675151392 * kSecond);
  EXPECT_EQ(parseRfc3339UnixNs("2023-01-31T02:19:52-05:30"), 1675151392 * kSecond);
}

TEST(RestTimestampTest, AnythingElseIsNotATime) {
  for (const char* text : {"", "2023-01-31", "2023-01-31T07:49:52", "2023-01-31 07:49:52Z",
                           "2023-13-01T00:00:00Z", "2023-04-31T00:00:00Z", "2023-02-29T00:00:00Z",
                           "2023-01-31T24:00:00Z", "2023-01-31T07:49:52.Z",
                           "2023-01-31T07:49:52+0200", "2023-01-31T07:49:52Zjunk", "1675151392"}) {
    EXPECT_EQ(parseRfc3339UnixNs(text), std::nullopt) << text;
  }
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
