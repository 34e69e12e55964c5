#include "print_detail_parser.hpp"

#include <cctype>

#include "message_text.hpp"
#include "polycsi/types.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isSpace(char c) { return c == ' ' || c == '\t'; }
bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '.';
}

[[noreturn]] void malformed(std::string_view why, std::string_view line) {
  throw Error(Code::kInternal,
              "unexpected RouterOS print output (" + std::string(why) + "): " +
                  printableForMessage(line));
}

std::vector<std::string_view> splitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    while (!line.empty() && (line.back() == '\r' || isSpace(line.back()))) line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  return lines;
}

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}

size_t indentOf(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && isSpace(line[n])) ++n;
  return n;
}

// True when `s` starts with `key=` (a property of the entry).
bool startsWithKey(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && isKeyChar(s[n])) ++n;
  return n > 0 && n < s.size() && s[n] == '=';
}

// The pieces of an entry's first line: its number, flags and the rest.
struct EntryStart {
  int index = 0;
  std::string flags;
  std::string_view rest;
};

// Parses "  12 XB  key=..." / " 3   ;;; comment"; nullopt when the line is not an entry start.
std::optional<EntryStart> parseEntryStart(std::string_view line) {
  std::string_view s = trimLeft(line);
  size_t n = 0;
  while (n < s.size() && isDigit(s[n])) ++n;
  if (n == 0 || n > 6 || (n > 1 && s[0] == '0') || n == s.size() || !isSpace(s[n]))
    return std::nullopt;
  EntryStart start;
  start.index = std::stoi(std::string(s.substr(0, n)));
  s = trimLeft(s.substr(n));
  // Flag tokens: letters or '*', not followed by '='.
  while (!s.empty() && !startsWithKey(s) && s.substr(0, 3) != ";;;") {
    size_t t = 0;
    while (t < s.size() && !isSpace(s[t])) ++t;
    std::string_view token = s.substr(0, t);
    for (char c : token)
      if (!std::isalpha(static_cast<unsigned char>(c)) && c != '*') return std::nullopt;
    if (token.size() > 12) return std::nullopt;
    start.flags += std::string(token);
    s = trimLeft(s.substr(t));
  }
  if (s.empty() && start.flags.empty()) return std::nullopt;
  start.rest = s;
  return start;
}

// Appends RouterOS-unescaped `c...` from a quoted value; returns characters consumed.
size_t unescape(std::string_view s, std::string& out) {
  // RouterOS writes \XX with capital hex digits ("\4C", "\C3\A9"); lower-case letters are
  // the named escapes (\a, \b, \f), so "\ab" is BEL followed by 'b'.
  auto hex = [](char c) -> int {
    if (isDigit(c)) return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.empty()) return 0;
  if (s.size() >= 2 && hex(s[0]) >= 0 && hex(s[1]) >= 0) {
    out += static_cast<char>(hex(s[0]) * 16 + hex(s[1]));
    return 2;
  }
  switch (s[0]) {
    case 'n': out += '\n'; break;
    case 'r': out += '\r'; break;
    case 't': out += '\t'; break;
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'v': out += '\v'; break;
    case '_': out += ' '; break;
    default: out += s[0]; break;  // \" \\ \$ \? and anything else: the character itself
  }
  return 1;
}

// Parses `key=value key="v a l" ...` (the joined text of one entry) into props.
void parseProperties(std::string_view text, DiskEntry& entry) {
  std::string_view s = trimLeft(text);
  while (!s.empty()) {
    if (!startsWithKey(s)) malformed("expected key=value", s);
    size_t eq = s.find('=');
    std::string key(s.substr(0, eq));
    s = s.substr(eq + 1);
    std::string value;
    if (!s.empty() && s[0] == '"') {
      size_t i = 1;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          i += 1 + unescape(s.substr(i + 1), value);
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value += s[i++];
        }
      }
      if (!closed) malformed("unterminated quoted value of " + key, text);
      s = s.substr(i);
      if (!s.empty() && !isSpace(s[0])) malformed("text after the quoted value of " + key, s);
    } else {
      // A bare value runs to the next `key=`; words in between belong to it.
      size_t t = 0;
      while (t < s.size() && !isSpace(s[t])) ++t;
      value = std::string(s.substr(0, t));
      s = s.substr(t);
      while (true) {
        std::string_view next = trimLeft(s);
        if (next.empty() || startsWithKey(next)) break;
        size_t w = 0;
        while (w < next.size() && !isSpace(next[w])) ++w;
        if (next.substr(0, w).find('=') != std::string_view::npos)
          malformed("expected key=value", next);
        value += " " + std::string(next.substr(0, w));
        s = next.substr(w);
      }
    }
    entry.props[key] = std::move(value);
    s = trimLeft(s);
  }
}

// True when the last property read so far ends in a spaced-digit number that the line may
// continue ("size=53 687" + newline + "091 200 ...").
bool pendingDigitGroups(std::string_view text) {
  size_t end = text.size();
  size_t start = end;
  while (start > 0 && (isDigit(text[start - 1]) || text[start - 1] == ' ')) --start;
  if (start == 0 || text[start - 1] != '=') return false;
  std::string_view number = text.substr(start);
  size_t firstGroup = number.find(' ');
  if (firstGroup == std::string_view::npos) firstGroup = number.size();
  return firstGroup >= 1 && firstGroup <= 3 && parseRouterOsSize(number).has_value();
}

bool startsWithThreeDigitGroup(std::string_view line) {
  std::string_view s = trimLeft(line);
  return s.size() >= 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) &&
         (s.size() == 3 || isSpace(s[3]));
}

}  // namespace

std::optional<std::string> DiskEntry::get(const std::string& key) const {
  auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  return it->second;
}

std::string DiskEntry::getOr(const std::string& key, const std::string& fallback) const {
  return get(key).value_or(fallback);
}

std::optional<int64_t> DiskEntry::bytes(const std::string& key) const {
  auto value = get(key);
  if (!value) return std::nullopt;
  auto parsed = parseRouterOsSize(*value);
  if (!parsed)
    throw Error(Code::kInternal, "RouterOS printed " + key + "=" + printableForMessage(*value) +
                                     ", which is not a size");
  return parsed;
}

std::optional<bool> DiskEntry::flag(const std::string& key) const {
  auto value = get(key);
  if (value == "yes" || value == "true") return true;
  if (value == "no" || value == "false") return false;
  return std::nullopt;
}

std::vector<DiskEntry> parseDiskPrintDetail(std::string_view output) {
  std::vector<DiskEntry> entries;
  std::vector<std::string> texts;  // each entry's property text, lines joined by spaces
  size_t entryIndent = 0;          // indentation of the current entry's first line
  // Once a continuation line indented past its entry's number has been seen, the output
  // indents its continuations (as RouterOS does), and a line at an entry's indentation is
  // always a new entry.
  bool continuationsIndented = false;
  bool inHeader = false;
  size_t headerIndent = 0;
  for (std::string_view line : splitLines(output)) {
    if (trimLeft(line).empty()) {
      inHeader = false;
      continue;
    }
    std::string_view content = trimLeft(line);
    if (entries.empty() && (content.rfind("Flags:", 0) == 0 || content.rfind("Columns:", 0) == 0)) {
      inHeader = true;
      headerIndent = indentOf(line);
      continue;
    }
    if (inHeader && entries.empty() && indentOf(line) > headerIndent &&
        !parseEntryStart(line)) {
      continue;  // a wrapped header line
    }
    inHeader = false;
    auto start = parseEntryStart(line);
    // Continuation lines are indented past the entry's number; entry numbers are right-aligned,
    // so a new entry is never indented more than the previous one. Only in output that does
    // not indent its continuations can a line at equal indentation that starts with three
    // digits continue a spaced number the previous line left open ("size=53 687" + "091 200");
    // even there, the next number in sequence starts an entry (every entry of a print may end
    // in a number such as file-offset=0, and from entry 100 on the numbers are not indented).
    bool isEntry = start.has_value();
    const size_t indent = indentOf(line);
    if (isEntry && !entries.empty()) {
      const bool digitsContinue = !continuationsIndented &&
                                  start->index != entries.back().index + 1 &&
                                  pendingDigitGroups(texts.back()) &&
                                  startsWithThreeDigitGroup(line);
      isEntry = start->index > entries.back().index &&
                (indent < entryIndent || (indent == entryIndent && !digitsContinue));
    }
    if (isEntry) {
      entryIndent = indentOf(line);
      DiskEntry entry;
      entry.index = start->index;
      entry.flags = start->flags;
      std::string_view rest = start->rest;
      if (rest.substr(0, 3) == ";;;") {
        entry.comment = std::string(trimLeft(rest.substr(3)));
        rest = {};
      }
      entries.push_back(std::move(entry));
      texts.emplace_back(rest);
      continue;
    }
    if (entries.empty()) malformed("text before the first entry", line);
    if (indent > entryIndent) continuationsIndented = true;
    texts.back() += " " + std::string(content);
  }
  for (size_t i = 0; i < entries.size(); ++i) parseProperties(texts[i], entries[i]);
  return entries;
}

}  // namespace polycsi::rds_nvme
