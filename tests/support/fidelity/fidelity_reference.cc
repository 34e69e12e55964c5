#include "fidelity_reference.hpp"

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace polycsi::testing {
namespace {

const std::set<std::string, std::less<>> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> pathSegments(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return {};
  return split(path, '/');
}

// A listed value with `<name>` wildcards as a regular expression: wildcards match any
// non-empty text, the rest literally.
bool matchesPattern(const std::string& pattern, const std::string& value) {
  if (pattern.find('<') == std::string::npos) return pattern == value;
  std::string expression;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '<') {
      const std::size_t close = pattern.find('>', i);
      if (close != std::string::npos) {
        expression += ".+";
        i = close;
        continue;
      }
    }
    if (std::string_view("\\^$.|?*+()[]{}").find(pattern[i]) != std::string_view::npos) {
      expression += '\\';
    }
    expression += pattern[i];
  }
  return std::regex_match(value, std::regex(expression));
}

// A command's words: split at spaces, except inside double quotes (RouterOS quoting, with
// backslash escapes inside quotes).
std::vector<std::string> commandWords(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (quoted && c == '\\' && i + 1 < command.size()) {
      word += c;
      word += command[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ' ' && !quoted) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
      continue;
    }
    word += c;
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string keyOf(const std::string& parameter) { return parameter.substr(0, parameter.find('=')); }

// The backticked spans of a table row's first cell.
std::vector<std::string> firstCellSpans(const std::string& row) {
  const std::size_t open = row.find('|');
  const std::size_t close = row.find('|', open + 1);
  if (open == std::string::npos || close == std::string::npos) return {};
  const std::string cell = row.substr(open + 1, close - open - 1);
  std::vector<std::string> spans;
  for (std::size_t at = cell.find('`'); at != std::string::npos;) {
    const std::size_t end = cell.find('`', at + 1);
    if (end == std::string::npos) break;
    spans.push_back(cell.substr(at + 1, end - at - 1));
    at = cell.find('`', end + 1);
  }
  return spans;
}

}  // namespace

FidelityReference::Call FidelityReference::parseCall(std::string_view text) {
  Call call;
  call.text = std::string(text);
  const std::size_t space = text.find(' ');
  call.method = std::string(text.substr(0, space));
  const std::string_view target = text.substr(space + 1);
  const std::size_t question = target.find('?');
  call.segments = pathSegments(target.substr(0, question));
  if (question != std::string_view::npos) {
    for (const auto& parameter : split(target.substr(question + 1), '&')) {
      call.query.insert(parameter);
    }
  }
  return call;
}

FidelityReference FidelityReference::load(std::string_view section, Options options) {
  return load(POLYCSI_FIDELITY_REFERENCE, section, std::move(options));
}

FidelityReference FidelityReference::load(const std::filesystem::path& document,
                                          std::string_view section, Options options) {
  std::ifstream in(document);
  if (!in) throw std::runtime_error("cannot read " + document.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), section, std::move(options));
}

FidelityReference FidelityReference::parse(std::string_view markdown, std::string_view section,
                                           Options options) {
  FidelityReference reference;
  reference.options_ = std::move(options);
  bool inSection = false;
  bool found = false;
  for (const auto& line : split(markdown, '\n')) {
    if (line.rfind("## ", 0) == 0) {
      inSection = line.substr(3) == section;
      found = found || inSection;
      continue;
    }
    if (!inSection || line.rfind("|", 0) != 0) continue;
    for (const auto& span : firstCellSpans(line)) {
      if (reference.options_.commands) {
        if (span.rfind('/', 0) != 0) continue;
        Call call;
        call.text = span;
        call.words = commandWords(span);
        reference.calls_.push_back(std::move(call));
        continue;
      }
      const std::size_t space = span.find(' ');
      if (space == std::string::npos || kMethods.count(span.substr(0, space)) == 0) continue;
      reference.calls_.push_back(parseCall(span));
    }
  }
  if (!found) throw std::runtime_error("no section \"## " + std::string(section) + "\"");
  if (reference.calls_.empty()) {
    throw std::runtime_error("section \"" + std::string(section) + "\" lists no call");
  }
  return reference;
}

bool FidelityReference::listsCommand(std::string_view command) const {
  const std::vector<std::string> words = commandWords(command);
  for (const Call& call : calls_) {
    if (call.words.size() != words.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < words.size(); ++i) {
      same = matchesPattern(call.words[i], words[i]);
    }
    if (same) return true;
  }
  return false;
}

bool FidelityReference::lists(std::string_view request) const {
  if (options_.commands) return listsCommand(request);
  const std::size_t space = request.find(' ');
  if (space == std::string_view::npos) return false;
  const std::string method(request.substr(0, space));
  std::string_view target = request.substr(space + 1);
  const std::size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (!options_.pathPrefix.empty() && path.rfind(options_.pathPrefix, 0) == 0) {
    path.remove_prefix(options_.pathPrefix.size());
  }
  const std::vector<std::string> segments = pathSegments(path);
  std::vector<std::string> query;
  if (question != std::string_view::npos && question + 1 < target.size()) {
    query = split(target.substr(question + 1), '&');
  }

  for (const Call& call : calls_) {
    if (call.method != method || call.segments.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; same && i < segments.size(); ++i) {
      same = matchesPattern(call.segments[i], segments[i]);
    }
    if (!same) continue;
    std::multiset<std::string> unmatched = call.query;
    for (const auto& parameter : query) {
      auto it = unmatched.begin();
      while (it != unmatched.end() &&
             !(keyOf(*it) == keyOf(parameter) && matchesPattern(*it, parameter))) {
        ++it;
      }
      if (it != unmatched.end()) {
        unmatched.erase(it);
      } else if (method != "GET" || options_.pagingKeys.count(keyOf(parameter)) == 0) {
        same = false;
        break;
      }
    }
    if (same && unmatched.empty()) return true;
  }
  return false;
}

std::vector<std::string> FidelityReference::unlisted(
    const std::vector<std::string>& requests) const {
  std::vector<std::string> missing;
  for (const auto& request : requests) {
    if (!lists(request)) missing.push_back(request);
  }
  return missing;
}

}  // namespace polycsi::testing
