// Parser for RouterOS `print detail` output (/disk, /file and any other menu).
//
// Handles what RouterOS prints: an optional `Flags:` header (possibly over several lines), a
// blank line between entries, numbered entries ` 0 X  key=value ...` with flag letters after
// the number, a `;;; comment` after the flags, continuation lines, quoted values with RouterOS
// escapes (\" \\ \n \t \_ \XX ...), bare values that contain spaces (`size=53 687 091 200`,
// `last-modified=2024-11-25 13:14:28`, `type=.json file`) and the different wrapping the same
// output gets at different terminal widths. A bare value runs up to the next `key=`.
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polycsi::rds_nvme {

struct DiskEntry {
  int index = 0;
  std::string flags;    // flag letters as printed, e.g. "X" or "Bt"
  std::string comment;  // text after ";;;", trimmed
  std::map<std::string, std::string> props;  // values unquoted and unescaped

  bool hasFlag(char flag) const { return flags.find(flag) != std::string::npos; }
  // 'X': the item is disabled.
  bool disabled() const { return hasFlag('X'); }
  // The value of `key`, or nullopt.
  std::optional<std::string> get(const std::string& key) const;
  // The value of `key`, or `fallback`.
  std::string getOr(const std::string& key, const std::string& fallback = "") const;
  // The value of `key` as a size in bytes (parseRouterOsSize); nullopt when absent.
  // Throws Error(kInternal) when present but not a size.
  std::optional<int64_t> bytes(const std::string& key) const;
  // `yes`/`true` -> true, `no`/`false` -> false; nullopt when absent or anything else.
  std::optional<bool> flag(const std::string& key) const;
};

// Parses `print detail` output. Empty output (or a header only) gives no entries.
// Throws Error(kInternal) naming the line when the text is not print output, e.g. an error
// message that was not recognised earlier (see routeros_errors.hpp).
std::vector<DiskEntry> parseDiskPrintDetail(std::string_view output);

}  // namespace polycsi::rds_nvme
