#include "routeros_cli_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace rds_sim {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Characters that end a bare word: RouterOS reads names and unquoted values up to these.
bool endsBareWord(char c) {
  return isSpace(c) || c == '=' || c == '[' || c == ']' || c == '"' || c == ';' || c == '~' ||
         c == '{' || c == '}';
}

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void syntaxError(int column) {
  throw RouterOsError("syntax error" + routerOsPosition(column));
}

[[noreturn]] void expectedEnd(int column) {
  throw RouterOsError("expected end of command" + routerOsPosition(column));
}

class LineParser {
 public:
  LineParser(std::string_view line, const std::vector<MenuSpec>& menus)
      : line_(line), menus_(menus) {}

  CliCommand parse() {
    CliCommand command;
    skipSpaces();
    const MenuSpec* menu = parseMenu(command);
    skipSpaces();
    if (atEnd()) {
      command.end_column = column();
      return command;
    }
    if (peek() == '/') expectedEnd(column());
    command.verb_column = column();
    const std::string verb = readBareWord();
    if (verb.empty()) expectedEnd(command.verb_column);
    if (std::find(menu->verbs.begin(), menu->verbs.end(), verb) == menu->verbs.end()) {
      throw RouterOsError("bad command name " + verb + routerOsPosition(command.verb_column));
    }
    command.verb = verb;
    parseArguments(command);
    command.end_column = column();
    return command;
  }

 private:
  bool atEnd() const { return pos_ >= line_.size(); }
  char peek() const { return atEnd() ? '\0' : line_[pos_]; }
  int column() const { return static_cast<int>(pos_) + 1; }
  void skipSpaces() {
    while (!atEnd() && isSpace(line_[pos_])) ++pos_;
  }

  std::string readBareWord() {
    const std::size_t start = pos_;
    while (!atEnd() && !endsBareWord(line_[pos_])) ++pos_;
    return std::string(line_.substr(start, pos_ - start));
  }

  std::string readName() {
    const std::size_t start = pos_;
    while (!atEnd() && isNameChar(line_[pos_])) ++pos_;
    return std::string(line_.substr(start, pos_ - start));
  }

  // Reads the menu path: words separated by `/` or spaces, matched against the known menus.
  const MenuSpec* parseMenu(CliCommand& command) {
    if (peek() == '/') ++pos_;
    std::vector<std::string> path;
    for (;;) {
      const std::size_t word_start = pos_;
      const int word_column = column();
      std::string word = readName();
      if (word.empty()) {
        if (path.empty()) {
          if (atEnd()) throw RouterOsError("expected command name" + routerOsPosition(column()));
          syntaxError(column());
        }
        pos_ = word_start;
        break;
      }
      std::vector<std::string> candidate = path;
      candidate.push_back(word);
      if (!isMenuPrefix(candidate)) {
        if (path.empty() || !isMenu(path)) {
          // RouterOS reports a bad name followed by `/` as a syntax error at the slash.
          if (peek() == '/') syntaxError(column());
          throw RouterOsError("bad command name " + word + routerOsPosition(word_column));
        }
        pos_ = word_start;
        break;
      }
      path = std::move(candidate);
      if (peek() == '/') {
        ++pos_;
        continue;
      }
      const std::size_t before_spaces = pos_;
      skipSpaces();
      if (atEnd()) break;
      if (pos_ == before_spaces) {
        // A word glued to something that is neither a separator nor a name character.
        syntaxError(column());
      }
    }
    const MenuSpec* menu = findMenu(path);
    if (menu == nullptr) {
      throw RouterOsError("bad command name " + path.back() + routerOsPosition(column()));
    }
    command.menu = path;
    return menu;
  }

  bool isMenuPrefix(const std::vector<std::string>& path) const {
    return std::any_of(menus_.begin(), menus_.end(), [&](const MenuSpec& spec) {
      return spec.path.size() >= path.size() &&
             std::equal(path.begin(), path.end(), spec.path.begin());
    });
  }
  bool isMenu(const std::vector<std::string>& path) const { return findMenu(path) != nullptr; }
  const MenuSpec* findMenu(const std::vector<std::string>& path) const {
    for (const MenuSpec& spec : menus_) {
      if (spec.path == path) return &spec;
    }
    return nullptr;
  }

  void parseArguments(CliCommand& command) {
    for (;;) {
      skipSpaces();
      if (atEnd()) return;
      const int arg_column = column();
      const char c = peek();
      if (c == '[') {
        Argument argument;
        argument.column = arg_column;
        argument.value.column = arg_column;
        argument.value.find = parseFind();
        command.arguments.push_back(std::move(argument));
        continue;
      }
      if (c == '"') {
        Argument argument;
        argument.column = arg_column;
        argument.value.column = arg_column;
        argument.value.text = parseQuoted();
        argument.value.quoted = true;
        command.arguments.push_back(std::move(argument));
        continue;
      }
      if (c == ']' || c == ';' || c == '~' || c == '=' || c == '{' || c == '}') {
        expectedEnd(arg_column);
      }
      std::string word = readBareWord();
      if (word == "where" && (atEnd() || isSpace(peek()))) {
        command.where_column = arg_column;
        command.where = parseConditions(/*inside_brackets=*/false);
        if (!atEnd()) expectedEnd(column());
        return;
      }
      Argument argument;
      argument.name = std::move(word);
      argument.column = arg_column;
      if (peek() == '=') {
        ++pos_;
        argument.has_value = true;
        argument.value = parseValue(/*inside_brackets=*/false);
      }
      command.arguments.push_back(std::move(argument));
    }
  }

  ArgumentValue parseValue(bool inside_brackets) {
    ArgumentValue value;
    // RouterOS skips blanks after `=`, so `name= other` reads `other` as the value.
    skipSpaces();
    value.column = column();
    if (atEnd()) return value;
    const char c = peek();
    if (c == '"') {
      value.text = parseQuoted();
      value.quoted = true;
    } else if (c == '[') {
      value.find = parseFind();
    } else if (c == ']' && inside_brackets) {
      return value;
    } else {
      const std::size_t start = pos_;
      while (!atEnd() && !isSpace(line_[pos_]) && line_[pos_] != ']' && line_[pos_] != '[' &&
             line_[pos_] != ';' && line_[pos_] != '"') {
        ++pos_;
      }
      value.text = std::string(line_.substr(start, pos_ - start));
      if (!atEnd() && (peek() == '"' || peek() == '[')) syntaxError(column());
    }
    return value;
  }

  std::string parseQuoted() {
    const int open_column = column();
    ++pos_;  // opening quote
    std::string text;
    while (!atEnd()) {
      const char c = line_[pos_];
      if (c == '"') {
        ++pos_;
        if (!atEnd() && !isSpace(peek()) && peek() != ']') syntaxError(column());
        return text;
      }
      if (c != '\\') {
        text.push_back(c);
        ++pos_;
        continue;
      }
      const int escape_column = column();
      ++pos_;
      if (atEnd()) syntaxError(escape_column);
      const char e = line_[pos_++];
      switch (e) {
        case '"':
          text.push_back('"');
          break;
        case '\\':
          text.push_back('\\');
          break;
        case 'n':
          text.push_back('\n');
          break;
        case 'r':
          text.push_back('\r');
          break;
        case 't':
          text.push_back('\t');
          break;
        case '$':
          text.push_back('$');
          break;
        case '?':
          text.push_back('?');
          break;
        case '_':
          text.push_back(' ');
          break;
        case 'a':
          text.push_back('\a');
          break;
        case 'b':
          text.push_back('\b');
          break;
        case 'f':
          text.push_back('\f');
          break;
        case 'v':
          text.push_back('\v');
          break;
        default: {
          const int high = hexValue(e);
          const int low = atEnd() ? -1 : hexValue(line_[pos_]);
          if (high < 0 || low < 0) syntaxError(escape_column);
          ++pos_;
          text.push_back(static_cast<char>(high * 16 + low));
        }
      }
    }
    syntaxError(open_column);
  }

  // `[find cond ...]` or `[find where cond ...]`, optionally naming the menu (`[/disk find ...]`).
  FindExpression parseFind() {
    FindExpression find;
    find.column = column();
    ++pos_;  // '['
    skipSpaces();
    if (peek() == '/') {
      // The menu named inside the brackets has to be followed by `find`; menus are not checked
      // here because rds-sim only supports find on the command's own menu.
      while (!atEnd() && !isSpace(peek()) && peek() != ']') ++pos_;
      skipSpaces();
    }
    const int word_column = column();
    const std::string word = readName();
    if (word != "find") {
      if (word.empty()) syntaxError(word_column);
      throw RouterOsError("bad command name " + word + routerOsPosition(word_column));
    }
    skipSpaces();
    const std::size_t before_where = pos_;
    if (readName() == "where" && (isSpace(peek()) || peek() == ']')) {
      skipSpaces();
    } else {
      pos_ = before_where;
    }
    find.conditions = parseConditions(/*inside_brackets=*/true);
    if (peek() != ']') syntaxError(atEnd() ? find.column : column());
    ++pos_;
    if (!atEnd() && !isSpace(peek())) expectedEnd(column());
    return find;
  }

  std::vector<Condition> parseConditions(bool inside_brackets) {
    std::vector<Condition> conditions;
    for (;;) {
      skipSpaces();
      if (atEnd() || (inside_brackets && peek() == ']')) return conditions;
      Condition condition;
      condition.column = column();
      bool negated = false;
      if (peek() == '!') {
        negated = true;
        ++pos_;
      }
      const int name_column = column();
      condition.property = readName();
      if (condition.property.empty()) syntaxError(name_column);
      if (condition.property == "and" && !negated && (atEnd() || isSpace(peek()))) continue;
      if (!negated && peek() == '!' && pos_ + 1 < line_.size() && line_[pos_ + 1] == '=') {
        pos_ += 2;
        condition.op = ConditionOp::kNotEquals;
      } else if (!negated && peek() == '=') {
        ++pos_;
        condition.op = ConditionOp::kEquals;
      } else if (!negated && peek() == '~') {
        ++pos_;
        condition.op = ConditionOp::kMatches;
      } else if (atEnd() || isSpace(peek()) || (inside_brackets && peek() == ']')) {
        condition.op = negated ? ConditionOp::kIsNotSet : ConditionOp::kIsSet;
        conditions.push_back(std::move(condition));
        continue;
      } else {
        syntaxError(column());
      }
      ArgumentValue value = parseValue(inside_brackets);
      if (value.find) syntaxError(value.column);
      condition.value = std::move(value.text);
      condition.value_column = value.column;
      conditions.push_back(std::move(condition));
    }
  }

  std::string_view line_;
  const std::vector<MenuSpec>& menus_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string routerOsPosition(int column) {
  return " (line 1 column " + std::to_string(column) + ")";
}

CliCommand parseCliCommand(std::string_view line, const std::vector<MenuSpec>& menus) {
  // A trailing newline is what a terminal would send; it is not part of the command.
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  return LineParser(line, menus).parse();
}

std::string quoteRouterOsString(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buffer[4];
          std::snprintf(buffer, sizeof buffer, "\\%02X", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace rds_sim
