#include "routeros_cli_parser.hpp"

#include <gtest/gtest.h>

namespace rds_sim {
namespace {

const std::vector<MenuSpec>& testMenus() {
  static const std::vector<MenuSpec> menus = {
      {{"disk"}, {"add", "set", "remove", "print"}},
      {{"file"}, {"print", "remove"}},
  };
  return menus;
}

std::string errorOf(std::string_view line) {
  try {
    parseCliCommand(line, testMenus());
  } catch (const RouterOsError& error) {
    return error.what();
  }
  return "(parsed)";
}

TEST(RouterOsCliParser, ReadsMenuVerbAndNamedArguments) {
  const CliCommand command = parseCliCommand(
      "/disk add type=file file-path=/storage-pool/a.img file-size=50G slot=a", testMenus());
  EXPECT_EQ(command.menu, std::vector<std::string>{"disk"});
  EXPECT_EQ(command.verb, "add");
  ASSERT_EQ(command.arguments.size(), 4u);
  EXPECT_EQ(command.arguments[1].name, "file-path");
  EXPECT_EQ(command.arguments[1].value.text, "/storage-pool/a.img");
  EXPECT_TRUE(command.arguments[1].has_value);
  EXPECT_EQ(command.arguments[1].column, 21);
  EXPECT_EQ(command.arguments[3].value.text, "a");
}

TEST(RouterOsCliParser, AcceptsSlashSeparatedPathAndNoLeadingSlash) {
  EXPECT_EQ(parseCliCommand("/disk/print", testMenus()).verb, "print");
  EXPECT_EQ(parseCliCommand("disk print", testMenus()).verb, "print");
}

TEST(RouterOsCliParser, ResolvesQuotesAndEscapes) {
  const CliCommand command =
      parseCliCommand(R"(/disk set x comment="a \"quoted\" word\\ tab\there\_x\41")", testMenus());
  ASSERT_EQ(command.arguments.size(), 2u);
  EXPECT_EQ(command.arguments[0].name, "x");
  EXPECT_FALSE(command.arguments[0].has_value);
  EXPECT_EQ(command.arguments[1].value.text, "a \"quoted\" word\\ tab\there xA");
  EXPECT_TRUE(command.arguments[1].value.quoted);
}

TEST(RouterOsCliParser, ReadsFindExpressions) {
  const CliCommand command =
      parseCliCommand(R"(/disk remove [find where slot~"^pvc-" nvme-tcp-export])", testMenus());
  ASSERT_EQ(command.arguments.size(), 1u);
  ASSERT_TRUE(command.arguments[0].value.find);
  const auto& conditions = command.arguments[0].value.find->conditions;
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0].property, "slot");
  EXPECT_EQ(conditions[0].op, ConditionOp::kMatches);
  EXPECT_EQ(conditions[0].value, "^pvc-");
  EXPECT_EQ(conditions[1].op, ConditionOp::kIsSet);

  const CliCommand copy = parseCliCommand(
      "/disk add type=file copy-from=[find slot=src] file-path=p/x.img slot=x", testMenus());
  ASSERT_TRUE(copy.arguments[1].value.find);
  EXPECT_EQ(copy.arguments[1].value.find->conditions[0].value, "src");
  EXPECT_EQ(copy.arguments[2].name, "file-path");
}

TEST(RouterOsCliParser, ReadsWhereClauseAndFlags) {
  const CliCommand command = parseCliCommand(
      R"(/disk print detail without-paging where mount-point="storage-pool" slot!=x)", testMenus());
  ASSERT_EQ(command.arguments.size(), 2u);
  EXPECT_EQ(command.arguments[0].name, "detail");
  ASSERT_TRUE(command.where);
  ASSERT_EQ(command.where->size(), 2u);
  EXPECT_EQ((*command.where)[0].value, "storage-pool");
  EXPECT_EQ((*command.where)[1].op, ConditionOp::kNotEquals);
}

TEST(RouterOsCliParser, ReportsErrorsWithRouterOsTextAndColumns) {
  EXPECT_EQ(errorOf("/disk frob"), "bad command name frob (line 1 column 7)");
  EXPECT_EQ(errorOf("/nonsense print"), "bad command name nonsense (line 1 column 2)");
  EXPECT_EQ(errorOf("/nonsense/command"), "syntax error (line 1 column 10)");
  EXPECT_EQ(errorOf(R"(/disk set x comment="open)"), "syntax error (line 1 column 21)");
  EXPECT_EQ(errorOf(R"(/disk set x comment="bad\q")"), "syntax error (line 1 column 25)");
  EXPECT_EQ(errorOf("/disk remove [find slot=x"), "syntax error (line 1 column 14)");
  EXPECT_EQ(errorOf("/disk print; /file print"), "expected end of command (line 1 column 12)");
  EXPECT_EQ(errorOf("/disk remove [frob slot=x]"), "bad command name frob (line 1 column 15)");
}

TEST(RouterOsCliParser, QuotesValuesForOutput) {
  EXPECT_EQ(quoteRouterOsString(""), "\"\"");
  EXPECT_EQ(quoteRouterOsString("a \"b\"\\"), R"("a \"b\"\\")");
  EXPECT_EQ(quoteRouterOsString("line\nnext\x01"), R"("line\nnext\01")");
}

}  // namespace
}  // namespace rds_sim
