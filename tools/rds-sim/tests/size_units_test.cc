#include "size_units.hpp"

#include <gtest/gtest.h>

namespace rds_sim {
namespace {

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

TEST(ParseRouterOsSize, ReadsPlainBytesAndBinaryUnits) {
  EXPECT_EQ(parseRouterOsSize("1048576"), 1048576u);
  EXPECT_EQ(parseRouterOsSize("512K"), 512u * 1024);
  EXPECT_EQ(parseRouterOsSize("512M"), 512u * 1024 * 1024);
  EXPECT_EQ(parseRouterOsSize("50G"), 50 * kGiB);
  EXPECT_EQ(parseRouterOsSize("1T"), 1024 * kGiB);
  EXPECT_EQ(parseRouterOsSize("50GiB"), 50 * kGiB);
  EXPECT_EQ(parseRouterOsSize("50g"), 50 * kGiB);
  EXPECT_EQ(parseRouterOsSize("1.5G"), kGiB + kGiB / 2);
}

TEST(ParseRouterOsSize, RoundsFractionalBytesUp) {
  // 0.1 KiB is 102.4 bytes: rounding down would make the disk smaller than asked.
  EXPECT_EQ(parseRouterOsSize("0.1K"), 103u);
}

TEST(ParseRouterOsSize, RejectsWhatIsNotASize) {
  for (const char* text :
       {"", "G", "-1G", "50X", "50 G", "1.G", "abc", "99999999999999999999", "9000000P"}) {
    EXPECT_FALSE(parseRouterOsSize(text).has_value()) << text;
  }
}

TEST(FormatSpacedDigits, GroupsByThreeWithSpaces) {
  EXPECT_EQ(formatSpacedDigits(0), "0");
  EXPECT_EQ(formatSpacedDigits(512), "512");
  EXPECT_EQ(formatSpacedDigits(4096), "4 096");
  EXPECT_EQ(formatSpacedDigits(53687091200), "53 687 091 200");
  EXPECT_EQ(formatSpacedDigits(7949127950336), "7 949 127 950 336");
}

TEST(FormatBinarySize, UsesOneDecimalAndTheUnitRouterOsPicks) {
  EXPECT_EQ(formatBinarySize(0), "0");
  EXPECT_EQ(formatBinarySize(230), "230");
  EXPECT_EQ(formatBinarySize(50 * kGiB), "50.0GiB");
  EXPECT_EQ(formatBinarySize(1024 * kGiB), "1024.0GiB");  // as RouterOS prints a 1T file disk
  EXPECT_EQ(formatBinarySize(kGiB), "1024.0MiB");
  EXPECT_EQ(formatBinarySize(1970278), "1924.1KiB");
  EXPECT_EQ(formatBinarySize(11639194), "11.1MiB");
  EXPECT_EQ(formatBinarySize(20 * 1024 * kGiB), "20.0TiB");
}

TEST(SizeUnits, RoundTripsThroughThePrintedForm) {
  for (const char* input : {"1G", "50G", "512M", "1T", "10G", "100G", "3T"}) {
    const auto bytes = parseRouterOsSize(input);
    ASSERT_TRUE(bytes) << input;
    const auto reparsed = parseRouterOsSize(formatBinarySize(*bytes));
    ASSERT_TRUE(reparsed) << formatBinarySize(*bytes);
    EXPECT_EQ(*reparsed, *bytes) << input;
  }
}

}  // namespace
}  // namespace rds_sim
