#include "duration.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace polycsi::csictl {
namespace {

using std::chrono::milliseconds;

TEST(ParseDuration, AcceptsUnits) {
  EXPECT_EQ(parseDuration("30s"), milliseconds(30000));
  EXPECT_EQ(parseDuration("30"), milliseconds(30000));
  EXPECT_EQ(parseDuration("500ms"), milliseconds(500));
  EXPECT_EQ(parseDuration("2m"), milliseconds(120000));
  EXPECT_EQ(parseDuration("1h"), milliseconds(3600000));
}

TEST(ParseDuration, RejectsBadValues) {
  EXPECT_THROW(parseDuration(""), std::invalid_argument);
  EXPECT_THROW(parseDuration("0s"), std::invalid_argument);
  EXPECT_THROW(parseDuration("-5s"), std::invalid_argument);
  EXPECT_THROW(parseDuration("1.5s"), std::invalid_argument);
  EXPECT_THROW(parseDuration("10d"), std::invalid_argument);
  EXPECT_THROW(parseDuration("s"), std::invalid_argument);
  EXPECT_THROW(parseDuration("25h"), std::invalid_argument);
  EXPECT_THROW(parseDuration("99999999999999999999999s"), std::invalid_argument);
}

}  // namespace
}  // namespace polycsi::csictl
