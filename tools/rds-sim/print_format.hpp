// Renders `print` output in RouterOS's layouts: `print detail` (index, flag column, wrapped
// key=value lines), `print terse` (one line per item) and the plain table.
#pragma once

#include <string>
#include <vector>

namespace rds_sim {

// How a property's value is written.
enum class ValueStyle {
  kQuoted,  // string-typed properties: always in quotes (`slot="pvc-1"`, `parent=""`)
  kRaw,     // printed verbatim even with spaces (`size=53 687 091 200`, `type=.img file`)
  kAuto,    // bare unless empty or holding blanks, quotes or brackets (`file-path=/pool/a.img`)
};

struct PrintProperty {
  std::string name;
  std::string value;  // as shown, before quoting
  ValueStyle style = ValueStyle::kAuto;
  std::string match_value;  // what `where`/`find` compare against; empty means `value`
};

// One item of a menu as `print` shows it.
struct PrintEntry {
  int index = 0;
  std::string flags;    // letters of the flags that are set, e.g. "Bt"
  std::string comment;  // shown as a `;;; comment` line when not empty
  std::vector<PrintProperty> properties;
};

// A flag letter and the name the `Flags:` header gives it, e.g. {'t', "NVME-TCP-EXPORT"}.
struct FlagLegend {
  char letter;
  std::string name;
};

// Returns `name=value` with the value quoted according to its style.
std::string renderProperty(const PrintProperty& property);

// `print detail`: an optional `Flags:` header naming only the flags some entry has (in legend
// order), then each entry as `<index right-aligned to two or more digits> <flag column>
// key=value ...` (a menu without flags, an empty legend, has no flag column), wrapped greedily at
// `width` columns onto continuation lines indented under the first property. A value longer than a
// third of the width sits on a line of its own, as RouterOS lays out long names and paths. Entries
// are separated by a line holding one blank. Lines end with `line_ending`. Pure function,
// thread-safe.
std::string formatPrintDetail(const std::vector<PrintEntry>& entries,
                              const std::vector<FlagLegend>& legend, int width,
                              const std::string& line_ending);

// `print terse`: like detail but each entry on one unwrapped line. Pure function.
std::string formatPrintTerse(const std::vector<PrintEntry>& entries,
                             const std::vector<FlagLegend>& legend, const std::string& line_ending);

// Plain `print`: `Flags:` and `Columns:` headers, a `#` header row, and one row per entry with
// the named properties' values, columns padded to their widest cell. Pure function.
std::string formatPrintTable(const std::vector<PrintEntry>& entries,
                             const std::vector<FlagLegend>& legend,
                             const std::vector<std::string>& columns,
                             const std::string& line_ending);

}  // namespace rds_sim
