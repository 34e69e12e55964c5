// A parser for the slice of the RouterOS command-line syntax that rds-sim accepts: one command
// per line, `/menu verb arg=value ...`, quoted values with RouterOS escapes, `[find ...]`
// expressions and a trailing `where` clause. It only builds a description of the command;
// nothing here executes anything.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rds_sim {

// An error whose text is exactly what RouterOS prints for it, for example
// `syntax error (line 1 column 7)`, `no such item` or `failure: not enough space`.
class RouterOsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the RouterOS position suffix for a 1-based column: ` (line 1 column N)`.
std::string routerOsPosition(int column);

// How a `where`/`find` condition compares a property.
enum class ConditionOp {
  kEquals,     // key=value
  kNotEquals,  // key!=value
  kMatches,    // key~"regex" (searched, like RouterOS)
  kIsSet,      // bare key: the boolean property is yes
  kIsNotSet,   // !key: the boolean property is no
};

// One comparison of a `where` clause or `find` expression. Conditions of one clause all have to
// hold (RouterOS's implicit `and`).
struct Condition {
  std::string property;
  ConditionOp op = ConditionOp::kEquals;
  std::string value;  // unquoted, escapes resolved; empty for kIsSet/kIsNotSet
  int column = 0;     // 1-based column where the condition starts
  int value_column = 0;
};

// `[find ...]`: selects the items of the command's own menu whose properties satisfy every
// condition (all items when there is none).
struct FindExpression {
  std::vector<Condition> conditions;
  int column = 0;  // column of the opening bracket
};

// The value after `name=`, or an unnamed argument.
struct ArgumentValue {
  std::string text;                    // literal text, quotes removed, escapes resolved
  std::optional<FindExpression> find;  // set when the value is `[find ...]`
  bool quoted = false;
  int column = 0;
};

// One argument of a command: `name=value`, a bare word (`detail`) or an unnamed value
// (`[find slot=x]`, `0,1`, `"quoted"`). For a bare word, `name` holds the word and
// `has_value` is false; for an unnamed quoted or bracketed value, `name` is empty.
struct Argument {
  std::string name;
  bool has_value = false;
  ArgumentValue value;
  int column = 0;  // 1-based column where the argument starts
};

// A parsed command line.
struct CliCommand {
  std::vector<std::string> menu;  // e.g. {"disk"}
  std::string verb;               // e.g. "print"; empty when the line only names a menu
  int verb_column = 0;
  std::vector<Argument> arguments;
  std::optional<std::vector<Condition>> where;  // set when the line has a `where` clause
  int where_column = 0;
  int end_column = 0;  // column just past the last character
};

// A menu the parser knows, with the verbs it accepts; `/disk` is {{"disk"}, {"add", ...}}.
struct MenuSpec {
  std::vector<std::string> path;
  std::vector<std::string> verbs;
};

// Parses one command line against the known menus. Throws RouterOsError with RouterOS's text
// for what it cannot read: `bad command name X (line 1 column N)` for an unknown menu or verb,
// `syntax error (line 1 column N)` for broken quoting, brackets or escapes, and
// `expected end of command (line 1 column N)` for text it cannot place (such as `;`).
// Pure function, thread-safe.
CliCommand parseCliCommand(std::string_view line, const std::vector<MenuSpec>& menus);

// Renders a value the way RouterOS quotes it: `"` around, and `\"`, `\\`, `\n`, `\r`, `\t`
// and `\XX` (other control characters) escaped inside. Pure function, thread-safe.
std::string quoteRouterOsString(std::string_view value);

}  // namespace rds_sim
