// The calls docs/fidelity.md lists for one external system, so a test can fail when the code
// makes a call that the reference does not list (and therefore no public source vouches for).
//
// A section of the document ("## <title>" up to the next "## ") lists calls in the first cell
// of its table rows, each in backticks, with `<name>` standing for any value:
//  - HTTP calls: `METHOD path[?query]` (e.g. `GET volume/<id>?select=id,name` or
//    `POST /api/v1/namespaces/<ns>/events`);
//  - CLI commands (Options::commands): a command path and its words, e.g.
//    `/disk print detail where slot=<slot>`.
// Backticked text in that cell that is neither is prose and ignored.
#pragma once

#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace polycsi::testing {

class FidelityReference {
 public:
  struct Options {
    // Stripped from a request's path before it is matched (the REST API's base path).
    std::string pathPrefix;
    // Query keys a listed collection GET may carry on top of its own (the paging of every
    // collection read to its last page), e.g. {"limit", "offset"}.
    std::set<std::string> pagingKeys;
    // The section lists CLI commands (spans that start with '/'), matched word by word in
    // order (words split at spaces outside double quotes), instead of HTTP calls.
    bool commands = false;
  };

  // Reads the section titled `section` of docs/fidelity.md in the source tree.
  static FidelityReference load(std::string_view section, Options options);
  // Reads the section titled `section` of the markdown file `document`. Throws
  // std::runtime_error when the file or the section is missing or lists no call, so a renamed
  // section cannot make every check pass.
  static FidelityReference load(const std::filesystem::path& document, std::string_view section,
                                Options options);
  // The same from markdown text already in memory.
  static FidelityReference parse(std::string_view markdown, std::string_view section,
                                 Options options);

  // True when `request` ("METHOD target", the target as sent: path and raw query) matches a
  // listed call: same method, same path segments (a `<name>` segment matches any one), and
  // the same query parameters in any order (a `<name>` inside a value matches any text),
  // plus only the paging keys on a GET. For commands: the same number of words, each
  // matching the listed word (a `<name>` inside it matches any text).
  bool lists(std::string_view request) const;
  // The requests of `requests` that no listed call matches, in order.
  std::vector<std::string> unlisted(const std::vector<std::string>& requests) const;
  // How many calls the section lists.
  std::size_t size() const { return calls_.size(); }

 private:
  struct Call {
    std::vector<std::string> words;  // commands only
    std::string method;
    std::vector<std::string> segments;
    std::multiset<std::string> query;  // "key=value" with wildcards kept
    std::string text;                  // as written, for messages
  };
  static Call parseCall(std::string_view text);
  bool listsCommand(std::string_view command) const;

  Options options_;
  std::vector<Call> calls_;
};

}  // namespace polycsi::testing
