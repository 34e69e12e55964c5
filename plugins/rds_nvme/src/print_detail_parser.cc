#include "print_detail_parser.hpp"

#include <cctype>

#include "message_text.hpp"
#include "polycsi/types.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

// Writes an entry's properties straight into its storage: the key, then the value appended by
// the caller to the string beginValue returns, then endValue records where both are.
class DiskEntryBuilder {
 public:
  DiskEntryBuilder(DiskEntry& entry, size_t textBytes) : entry_(entry) {
    entry_.text_.reserve(entry_.text_.size() + textBytes);
    entry_.spans_.reserve(32);  // RouterOS prints about 25 properties of a disk
  }

  std::string& beginValue(std::string_view key) {
    keyStart_ = entry_.text_.size();
    entry_.text_.append(key);
    valueStart_ = entry_.text_.size();
    return entry_.text_;
  }

  void endValue() {
    entry_.addSpan({static_cast<uint32_t>(keyStart_),
                    static_cast<uint32_t>(valueStart_ - keyStart_),
                    static_cast<uint32_t>(valueStart_),
                    static_cast<uint32_t>(entry_.text_.size() - valueStart_)});
  }

 private:
  DiskEntry& entry_;
  size_t keyStart_ = 0;
  size_t valueStart_ = 0;
};

namespace {

// Offsets into an entry's storage are 32 bits; RouterOS output is refused far below this.
constexpr size_t kMaxOutputBytes = size_t{1} << 30;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isSpace(char c) { return c == ' ' || c == '\t'; }
bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '.';
}

[[noreturn]] void malformed(std::string_view why, std::string_view line) {
  throw Error(Code::kInternal, "unexpected RouterOS print output (" + std::string(why) +
                                   "): " + printableForMessage(line));
}

// Hands out the lines of `text` one at a time, trailing blanks and '\r' removed.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(std::string_view& line) {
    if (start_ > text_.size()) return false;
    size_t end = text_.find('\n', start_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(start_, end - start_);
    while (!line.empty() && (line.back() == '\r' || isSpace(line.back()))) line.remove_suffix(1);
    start_ = end + 1;
    return true;
  }

 private:
  std::string_view text_;
  size_t start_ = 0;
};

std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}

size_t indentOf(std::string_view line) {
  size_t n = 0;
  while (n < line.size() && isSpace(line[n])) ++n;
  return n;
}

// The length of the key when `s` starts with `key=` (a property of the entry), else 0.
size_t keyLengthAt(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && isKeyChar(s[n])) ++n;
  return n > 0 && n < s.size() && s[n] == '=' ? n : 0;
}

bool startsWithKey(std::string_view s) { return keyLengthAt(s) > 0; }

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

// One item of a `Flags:` legend, `X - disabled`: its letter, or 0 when `piece` is not one.
char legendLetter(std::string_view piece) {
  piece = trimLeft(piece);
  if (piece.size() < 4 || piece.substr(1, 3) != " - ") return 0;
  return std::isalpha(static_cast<unsigned char>(piece[0])) ? piece[0] : 0;
}

// True for a line of the legend that wrapped onto a line of its own, `M - mlag` (ktbyers/
// netmiko#2880: RouterOS 7.1.3 over ssh exec wraps the legend at column 0).
bool isLegendLine(std::string_view content) {
  return legendLetter(content.substr(0, content.find_first_of(";,"))) != 0;
}

// Adds the flag letters a legend line names ("Flags: X - disabled; I - invalid, D - ...").
void collectLegendLetters(std::string_view content, std::string& letters) {
  if (content.rfind("Flags:", 0) == 0) content.remove_prefix(6);
  while (!content.empty()) {
    const size_t end = content.find_first_of(";,");
    if (const char letter = legendLetter(content.substr(0, end))) letters += letter;
    if (end == std::string_view::npos) break;
    content.remove_prefix(end + 1);
  }
}

// An entry printed without a number: `type=file slot=...` (3whiskeywhiskey/rds-csi, pkg/rds/
// commands_test.go TestParseVolumeInfo), or flag letters the legend named, then `key=`.
std::optional<EntryStart> parseUnnumberedStart(std::string_view line, std::string_view legend) {
  std::string_view s = trimLeft(line);
  EntryStart start;
  start.index = DiskEntry::kUnnumbered;
  while (!s.empty() && !startsWithKey(s)) {
    size_t t = 0;
    while (t < s.size() && !isSpace(s[t])) ++t;
    const std::string_view token = s.substr(0, t);
    if (token.size() > 12) return std::nullopt;
    for (char c : token)
      if (legend.find(c) == std::string_view::npos) return std::nullopt;
    start.flags += std::string(token);
    s = trimLeft(s.substr(t));
  }
  if (s.empty()) return std::nullopt;
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
    case 'n':
      out += '\n';
      break;
    case 'r':
      out += '\r';
      break;
    case 't':
      out += '\t';
      break;
    case 'a':
      out += '\a';
      break;
    case 'b':
      out += '\b';
      break;
    case 'f':
      out += '\f';
      break;
    case 'v':
      out += '\v';
      break;
    case '_':
      out += ' ';
      break;
    default:
      out += s[0];
      break;  // \" \\ \$ \? and anything else: the character itself
  }
  return 1;
}

// Parses `key=value key="v a l" ...` (the joined text of one entry) into the entry.
void parseProperties(std::string_view text, DiskEntry& entry) {
  DiskEntryBuilder builder(entry, text.size());
  std::string_view s = trimLeft(text);
  while (!s.empty()) {
    const size_t keyLength = keyLengthAt(s);
    if (keyLength == 0) malformed("expected key=value", s);
    const std::string_view key = s.substr(0, keyLength);
    s = s.substr(keyLength + 1);
    std::string& value = builder.beginValue(key);
    if (!s.empty() && s[0] == '"') {
      size_t i = 1;
      bool closed = false;
      while (i < s.size()) {
        // Copy the run up to the next escape or quote at once.
        size_t runEnd = i;
        while (runEnd < s.size() && s[runEnd] != '\\' && s[runEnd] != '"') ++runEnd;
        value.append(s.data() + i, runEnd - i);
        i = runEnd;
        if (i >= s.size()) break;
        if (s[i] == '\\' && i + 1 < s.size()) {
          i += 1 + unescape(s.substr(i + 1), value);
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          value += s[i++];  // a backslash that ends the text
        }
      }
      if (!closed) malformed("unterminated quoted value of " + std::string(key), text);
      s = s.substr(i);
      if (!s.empty() && !isSpace(s[0]))
        malformed("text after the quoted value of " + std::string(key), s);
    } else {
      // A bare value runs to the next `key=`; words in between belong to it.
      size_t t = 0;
      while (t < s.size() && !isSpace(s[t])) ++t;
      value.append(s.data(), t);
      s = s.substr(t);
      while (true) {
        std::string_view next = trimLeft(s);
        if (next.empty() || startsWithKey(next)) break;
        size_t w = 0;
        while (w < next.size() && !isSpace(next[w])) ++w;
        if (next.substr(0, w).find('=') != std::string_view::npos)
          malformed("expected key=value", next);
        value += ' ';
        value.append(next.data(), w);
        s = next.substr(w);
      }
    }
    builder.endValue();
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

std::string_view DiskEntry::keyOf(const Span& span) const {
  return std::string_view(text_.data() + span.keyStart, span.keyLength);
}

std::string_view DiskEntry::valueOf(const Span& span) const {
  return std::string_view(text_.data() + span.valueStart, span.valueLength);
}

void DiskEntry::addSpan(const Span& span) {
  const std::string_view key = keyOf(span);
  for (Span& existing : spans_) {
    if (keyOf(existing) == key) {
      existing = span;  // the earlier bytes stay unused in text_
      return;
    }
  }
  spans_.push_back(span);
}

void DiskEntry::set(std::string_view key, std::string_view value) {
  DiskEntryBuilder builder(*this, key.size() + value.size());
  builder.beginValue(key).append(value);
  builder.endValue();
}

std::optional<std::string_view> DiskEntry::find(std::string_view key) const {
  for (const Span& span : spans_)
    if (keyOf(span) == key) return valueOf(span);
  return std::nullopt;
}

std::optional<std::string> DiskEntry::get(std::string_view key) const {
  const auto value = find(key);
  if (!value) return std::nullopt;
  return std::string(*value);
}

std::string DiskEntry::getOr(std::string_view key, const std::string& fallback) const {
  const auto value = find(key);
  return value ? std::string(*value) : fallback;
}

std::optional<int64_t> DiskEntry::bytes(std::string_view key) const {
  const auto value = find(key);
  if (!value) return std::nullopt;
  auto parsed = parseRouterOsSize(*value);
  if (!parsed)
    throw Error(Code::kInternal, "RouterOS printed " + std::string(key) + "=" +
                                     printableForMessage(*value) + ", which is not a size");
  return parsed;
}

std::optional<bool> DiskEntry::flag(std::string_view key) const {
  const auto value = find(key);
  if (!value) return std::nullopt;
  if (*value == "yes" || *value == "true") return true;
  if (*value == "no" || *value == "false") return false;
  return std::nullopt;
}

std::vector<std::pair<std::string_view, std::string_view>> DiskEntry::properties() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(spans_.size());
  for (const Span& span : spans_) out.emplace_back(keyOf(span), valueOf(span));
  return out;
}

RdsDisk parseRdsDisk(const DiskEntry& entry) {
  RdsDisk disk;
  disk.slot = entry.getOr("slot");
  disk.filePath = entry.getOr("file-path");
  disk.mountPoint = entry.getOr("mount-point");
  disk.sizeBytes = entry.bytes("size");
  disk.fileSizeBytes = entry.bytes("file-size");
  disk.freeBytes = entry.bytes("free");
  disk.nvmeTcpServerNqn = entry.getOr("nvme-tcp-server-nqn");
  disk.nvmeTcpServerPort = entry.get("nvme-tcp-server-port");
  disk.allowedHostNames = entry.getOr("nvme-tcp-server-allow-host-name");
  disk.comment = entry.comment;
  disk.nvmeTcpExport = entry.flag("nvme-tcp-export");
  return disk;
}

std::vector<RdsDisk> parseRdsDisks(std::string_view output) {
  std::vector<RdsDisk> disks;
  for (const DiskEntry& entry : parseDiskPrintDetail(output)) disks.push_back(parseRdsDisk(entry));
  return disks;
}

std::vector<RdsFile> parseRdsFiles(std::string_view output) {
  std::vector<RdsFile> files;
  for (const DiskEntry& entry : parseDiskPrintDetail(output))
    files.push_back(RdsFile{entry.getOr("name")});
  return files;
}

namespace {

// The steps of parseDiskPrintDetail over one output, line by line: the `Flags:`/`Columns:`
// header, a comment's continuation, the start of an entry, a continuation line.
class PrintDetailParser {
 public:
  explicit PrintDetailParser(size_t outputBytes) {
    entries_.reserve(outputBytes / 512);  // a disk prints about 800 bytes, a file fewer
  }

  void line(std::string_view line) {
    if (trimLeft(line).empty()) {
      inHeader_ = false;
      blankBefore_ = true;
      return;
    }
    const bool afterBlank = blankBefore_;
    blankBefore_ = false;
    const std::string_view content = trimLeft(line);
    if (header(line, content)) return;
    auto start = parseEntryStart(line);
    const size_t indent = indentOf(line);
    if (!start && commentContinues(content)) return;
    if (!startsEntry(start, line, indent, afterBlank)) {
      if (entries_.empty()) malformed("text before the first entry", line);
      if (indent > entryIndent_) continuationsIndented_ = true;
      if (!text_.empty()) text_ += ' ';
      text_.append(content);
      return;
    }
    entryIndent_ = indent;
    beginEntry(*start);
  }

  std::vector<DiskEntry> finish() {
    if (!entries_.empty()) parseProperties(text_, entries_.back());
    return std::move(entries_);
  }

 private:
  // True when `line` belongs to the header before the first entry (and its legend letters
  // were collected).
  bool header(std::string_view line, std::string_view content) {
    if (entries_.empty() &&
        (content.rfind("Flags:", 0) == 0 || content.rfind("Columns:", 0) == 0)) {
      inHeader_ = true;
      headerIndent_ = indentOf(line);
      if (content.rfind("Flags:", 0) == 0) collectLegendLetters(content, legend_);
      return true;
    }
    if (inHeader_ && entries_.empty() && !parseEntryStart(line) &&
        (indentOf(line) > headerIndent_ || isLegendLine(content))) {
      collectLegendLetters(content, legend_);
      return true;  // a wrapped header line
    }
    inHeader_ = false;
    return false;
  }

  // A comment's text runs on (even from column 0, ntc-templates interface_vlan_print_detail_02)
  // until the entry's first property. True when `content` was such a line.
  bool commentContinues(std::string_view content) {
    if (entries_.empty() || entries_.back().comment.empty() || !text_.empty() ||
        startsWithKey(content))
      return false;
    entries_.back().comment += '\n';
    entries_.back().comment.append(content);
    return true;
  }

  // Whether `line` starts a new entry; `start` becomes its pieces when it does.
  bool startsEntry(std::optional<EntryStart>& start, std::string_view line, size_t indent,
                   bool afterBlank) const {
    // Continuation lines are indented past the entry's number; entry numbers are
    // right-aligned, so a new entry is never indented more than the previous one. Only in
    // output that does not indent its continuations can a line at equal indentation that
    // starts with three digits continue a spaced number the previous line left open
    // ("size=53 687" + "091 200"); even there, the next number in sequence starts an entry
    // (every entry of a print may end in a number such as file-offset=0, and from entry 100
    // on the numbers are not indented).
    bool isEntry = start.has_value();
    if (isEntry && !entries_.empty()) {
      const bool digitsContinue = !continuationsIndented_ &&
                                  start->index != entries_.back().index + 1 &&
                                  pendingDigitGroups(text_) && startsWithThreeDigitGroup(line);
      isEntry = start->index > entries_.back().index &&
                (indent < entryIndent_ || (indent == entryIndent_ && !digitsContinue));
    }
    // Without numbers, an entry starts at the top of the output or, after a blank line, at the
    // previous unnumbered entry's indentation; anything indented further continues it.
    if (!isEntry && (entries_.empty() || (afterBlank && indent <= entryIndent_ &&
                                          entries_.back().index == DiskEntry::kUnnumbered))) {
      start = parseUnnumberedStart(line, legend_);
      isEntry = start.has_value();
    }
    return isEntry;
  }

  // Closes the previous entry (parses its text) and opens the one `start` describes.
  void beginEntry(const EntryStart& start) {
    DiskEntry entry;
    entry.index = start.index;
    entry.flags = start.flags;
    std::string_view rest = start.rest;
    if (rest.substr(0, 3) == ";;;") {
      entry.comment = std::string(trimLeft(rest.substr(3)));
      rest = {};
    }
    if (!entries_.empty()) parseProperties(text_, entries_.back());
    entries_.push_back(std::move(entry));
    text_.assign(rest);
  }

  std::vector<DiskEntry> entries_;
  // The last entry's property text, its lines joined by spaces; parsed into the entry when the
  // next one starts. One buffer for all entries.
  std::string text_;
  size_t entryIndent_ = 0;  // indentation of the current entry's first line
  // Once a continuation line indented past its entry's number has been seen, the output
  // indents its continuations (as RouterOS does), and a line at an entry's indentation is
  // always a new entry.
  bool continuationsIndented_ = false;
  bool inHeader_ = false;
  size_t headerIndent_ = 0;
  std::string legend_;        // the flag letters the `Flags:` legend names
  bool blankBefore_ = false;  // a blank line came after the last line with text
};

}  // namespace

std::vector<DiskEntry> parseDiskPrintDetail(std::string_view output) {
  if (output.size() > kMaxOutputBytes)
    throw Error(Code::kInternal, "RouterOS print output of " + std::to_string(output.size()) +
                                     " bytes is too large to parse");
  PrintDetailParser parser(output.size());
  LineReader lines(output);
  std::string_view line;
  while (lines.next(line)) parser.line(line);
  return parser.finish();
}

}  // namespace polycsi::rds_nvme
