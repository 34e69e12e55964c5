#include "byte_size.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(parseSize("0"), 0);
  EXPECT_EQ(parseSize("4096"), 4096);
  EXPECT_EQ(parseSize("512B"), 512);
}

TEST(ParseSize, BinarySuffixes) {
  EXPECT_EQ(parseSize("1Ki"), 1024);
  EXPECT_EQ(parseSize("3Mi"), 3LL * 1024 * 1024);
  EXPECT_EQ(parseSize("1Gi"), 1073741824LL);
  EXPECT_EQ(parseSize("2Ti"), 2LL * 1024 * 1024 * 1024 * 1024);
  EXPECT_EQ(parseSize("1GiB"), 1073741824LL);
}

TEST(ParseSize, DecimalSuffixes) {
  EXPECT_EQ(parseSize("1K"), 1000);
  EXPECT_EQ(parseSize("1k"), 1000);
  EXPECT_EQ(parseSize("5M"), 5000000);
  EXPECT_EQ(parseSize("10G"), 10000000000LL);
  EXPECT_EQ(parseSize("1T"), 1000000000000LL);
  EXPECT_EQ(parseSize("2GB"), 2000000000LL);
}

TEST(ParseSize, FractionsThatAreWholeBytes) {
  EXPECT_EQ(parseSize("1.5Gi"), 1610612736LL);
  EXPECT_EQ(parseSize("0.5Ki"), 512);
  EXPECT_EQ(parseSize("2.25K"), 2250);
}

TEST(ParseSize, LargestValueFits) {
  EXPECT_EQ(parseSize("9223372036854775807"), 9223372036854775807LL);
}

void expectRejected(const std::string& text, const std::string& why) {
  try {
    parseSize(text);
    ADD_FAILURE() << "'" << text << "' was accepted";
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("'" + text + "'"), std::string::npos) << message;
    EXPECT_NE(message.find(why), std::string::npos) << message;
  }
}

TEST(ParseSize, RejectsGarbageWithClearMessages) {
  expectRejected("", "empty");
  expectRejected("Gi", "no number");
  expectRejected("abc", "no number");
  expectRejected("-1Gi", "negative");
  expectRejected("1Xi", "unknown unit 'Xi'");
  expectRejected("12XB", "unknown unit");
  expectRejected("1 Gi", "unknown unit");
  expectRejected("1gi", "unknown unit");
  expectRejected("1.5", "not a whole number of bytes");
  expectRejected("1.", "decimal point");
  expectRejected("1.2.3", "unknown unit");
  expectRejected("9223372036854775808", "largest");
  expectRejected("8Ei", "unknown unit");
  expectRejected("9000000Pi", "largest");
  expectRejected("99999999999999999999999999999999999999999", "too large");
}

TEST(FormatBytes, UsesBinaryUnitsWithOneDecimal) {
  EXPECT_EQ(formatBytes(0), "0 B");
  EXPECT_EQ(formatBytes(1023), "1023 B");
  EXPECT_EQ(formatBytes(1024), "1.0 KiB");
  EXPECT_EQ(formatBytes(1073741824LL), "1.0 GiB");
  EXPECT_EQ(formatBytes(1610612736LL), "1.5 GiB");
  EXPECT_EQ(formatBytes(5LL * 1024 * 1024 * 1024 * 1024), "5.0 TiB");
}

}  // namespace
}  // namespace polycsi::csictl
