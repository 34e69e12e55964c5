#include "routeros_errors.hpp"

#include <gtest/gtest.h>

namespace polycsi::rds_nvme {
namespace {

TEST(RouterOsErrors, ErrorTextsMapToCsiCodes) {
  EXPECT_EQ(codeForRouterOsError("no such item"), Code::kNotFound);
  // rds-csi's docs/rds-commands.md shows this form for /disk remove of a missing slot.
  EXPECT_EQ(codeForRouterOsError("failure: no such item"), Code::kNotFound);
  EXPECT_EQ(codeForRouterOsError("failure: disk with such slot already exists"),
            Code::kAlreadyExists);
  EXPECT_EQ(codeForRouterOsError("failure: not enough space"), Code::kResourceExhausted);
  EXPECT_EQ(codeForRouterOsError("failure: disk is busy"), Code::kFailedPrecondition);
  EXPECT_EQ(codeForRouterOsError("failure: file in use"), Code::kFailedPrecondition);
  EXPECT_EQ(codeForRouterOsError("not enough permissions (9)"), Code::kPermissionDenied);
  EXPECT_EQ(codeForRouterOsError("invalid value for argument file-size"), Code::kOutOfRange);
  EXPECT_EQ(codeForRouterOsError("expected end of command (line 1 column 12)"), Code::kInternal);
  EXPECT_EQ(codeForRouterOsError("syntax error (line 1 column 7)"), Code::kInternal);
  EXPECT_EQ(codeForRouterOsError("bad command name frob (line 1 column 7)"), Code::kInternal);
  EXPECT_EQ(codeForRouterOsError("failure: something odd"), Code::kInternal);
}

TEST(RouterOsErrors, ClassifyReply) {
  EXPECT_EQ(classifyReply({0, "", ""}, "cmd"), std::nullopt);
  EXPECT_EQ(classifyReply({0, "Flags: X - disabled\n 0 slot=\"a\"\n", ""}, "cmd"), std::nullopt);
  auto space = classifyReply({0, "\nfailure: not enough space\n", ""}, "/disk add");
  ASSERT_TRUE(space.has_value());
  EXPECT_EQ(space->code(), Code::kResourceExhausted);
  EXPECT_NE(space->message().find("/disk add"), std::string::npos);
  EXPECT_NE(space->message().find("not enough space"), std::string::npos);
  auto syntax = classifyReply({1, "", "expected end of command (line 1 column 40)"}, "c");
  ASSERT_TRUE(syntax.has_value());
  EXPECT_EQ(syntax->code(), Code::kInternal);
  EXPECT_NE(syntax->message().find("may not support"), std::string::npos);
  auto silent = classifyReply({255, "", ""}, "c");
  ASSERT_TRUE(silent.has_value());
  EXPECT_EQ(silent->code(), Code::kInternal);
  auto missing = classifyReply({1, "no such item\r\n", ""}, "c");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->code(), Code::kNotFound);
}

}  // namespace
}  // namespace polycsi::rds_nvme
