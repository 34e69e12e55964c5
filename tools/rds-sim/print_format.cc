#include "print_format.hpp"

#include <algorithm>
#include <cctype>

#include "routeros_cli_parser.hpp"

namespace rds_sim {
namespace {

bool needsQuotes(const std::string& value) {
  if (value.empty()) return true;
  return std::any_of(value.begin(), value.end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '"' || c == '[' || c == ']' ||
           c == ';' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
  });
}

std::string renderValue(const PrintProperty& property) {
  switch (property.style) {
    case ValueStyle::kQuoted:
      return quoteRouterOsString(property.value);
    case ValueStyle::kRaw:
      return property.value;
    case ValueStyle::kAuto:
      return needsQuotes(property.value) ? quoteRouterOsString(property.value) : property.value;
  }
  return property.value;
}

// Flags that at least one entry has, in legend order.
std::vector<FlagLegend> usedFlags(const std::vector<PrintEntry>& entries,
                                  const std::vector<FlagLegend>& legend) {
  std::vector<FlagLegend> used;
  for (const FlagLegend& flag : legend) {
    const bool any = std::any_of(entries.begin(), entries.end(), [&](const PrintEntry& entry) {
      return entry.flags.find(flag.letter) != std::string::npos;
    });
    if (any) used.push_back(flag);
  }
  return used;
}

std::string flagsHeader(const std::vector<FlagLegend>& used, const std::string& line_ending) {
  if (used.empty()) return "";
  std::string header = "Flags: ";
  for (std::size_t i = 0; i < used.size(); ++i) {
    if (i != 0) header += "; ";
    header += std::string(1, used[i].letter) + " - " + used[i].name;
  }
  return header + line_ending;
}

// The entry's flag cell: one fixed position per used flag, blank where it is not set.
std::string flagCell(const PrintEntry& entry, const std::vector<FlagLegend>& used) {
  std::string cell;
  for (const FlagLegend& flag : used) {
    cell.push_back(entry.flags.find(flag.letter) != std::string::npos ? flag.letter : ' ');
  }
  return cell;
}

int indexWidth(const std::vector<PrintEntry>& entries) {
  int width = 2;
  for (const PrintEntry& entry : entries) {
    width = std::max(width, static_cast<int>(std::to_string(entry.index).size()));
  }
  return width;
}

std::string padLeft(const std::string& text, int width) {
  const int pad = width - static_cast<int>(text.size());
  return pad > 0 ? std::string(static_cast<std::size_t>(pad), ' ') + text : text;
}

std::string padRight(const std::string& text, std::size_t width) {
  return text.size() < width ? text + std::string(width - text.size(), ' ') : text;
}

}  // namespace

std::string renderProperty(const PrintProperty& property) {
  return property.name + "=" + renderValue(property);
}

std::string formatPrintDetail(const std::vector<PrintEntry>& entries,
                              const std::vector<FlagLegend>& legend, int width,
                              const std::string& line_ending) {
  const std::vector<FlagLegend> used = usedFlags(entries, legend);
  std::string out = flagsHeader(used, line_ending);
  const int index_width = indexWidth(entries);
  const std::size_t long_value = static_cast<std::size_t>(std::max(width, 1)) / 3;
  for (std::size_t e = 0; e < entries.size(); ++e) {
    const PrintEntry& entry = entries[e];
    if (e != 0) out += " " + line_ending;
    // Menus with flags keep a flag column (empty when no flag is shown); others have none.
    const std::string prefix = padLeft(std::to_string(entry.index), index_width) + " " +
                               (legend.empty() ? "" : flagCell(entry, used) + " ");
    const std::string indent(prefix.size(), ' ');
    std::string line = prefix;
    bool line_has_property = false;
    if (!entry.comment.empty()) {
      out += prefix + ";;; " + entry.comment + line_ending;
      line = indent;
    }
    for (const PrintProperty& property : entry.properties) {
      const std::string token = renderProperty(property);
      const bool alone = renderValue(property).size() > long_value;
      const bool fits = line.size() + 1 + token.size() <= static_cast<std::size_t>(width);
      if (line_has_property && (alone || !fits)) {
        out += line + line_ending;
        line = indent;
        line_has_property = false;
      }
      if (line_has_property) line += " ";
      line += token;
      line_has_property = true;
      if (alone) {
        out += line + line_ending;
        line = indent;
        line_has_property = false;
      }
    }
    if (line_has_property) out += line + line_ending;
  }
  return out;
}

std::string formatPrintTerse(const std::vector<PrintEntry>& entries,
                             const std::vector<FlagLegend>& legend,
                             const std::string& line_ending) {
  const std::vector<FlagLegend> used = usedFlags(entries, legend);
  const int index_width = indexWidth(entries);
  std::string out;
  for (const PrintEntry& entry : entries) {
    std::string line =
        padLeft(std::to_string(entry.index), index_width) + " " + flagCell(entry, used);
    if (!entry.comment.empty()) line += " comment=" + quoteRouterOsString(entry.comment);
    for (const PrintProperty& property : entry.properties) line += " " + renderProperty(property);
    out += line + line_ending;
  }
  return out;
}

std::string formatPrintTable(const std::vector<PrintEntry>& entries,
                             const std::vector<FlagLegend>& legend,
                             const std::vector<std::string>& columns,
                             const std::string& line_ending) {
  const std::vector<FlagLegend> used = usedFlags(entries, legend);
  std::string out = flagsHeader(used, line_ending);
  std::vector<std::string> headers;
  for (const std::string& column : columns) {
    std::string upper = column;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    headers.push_back(upper);
  }
  std::string columns_line = "Columns: ";
  for (std::size_t i = 0; i < headers.size(); ++i) {
    columns_line += (i == 0 ? "" : ", ") + headers[i];
  }
  out += columns_line + line_ending;

  std::vector<std::vector<std::string>> rows;
  std::size_t lead_width = 1;  // "#"
  for (const PrintEntry& entry : entries) {
    std::vector<std::string> row;
    row.push_back(std::to_string(entry.index) + (used.empty() ? "" : " " + flagCell(entry, used)));
    lead_width = std::max(lead_width, row.back().size());
    for (const std::string& column : columns) {
      auto it = std::find_if(entry.properties.begin(), entry.properties.end(),
                             [&](const PrintProperty& p) { return p.name == column; });
      row.push_back(it == entry.properties.end() ? "" : it->value);
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths = {lead_width};
  for (std::size_t c = 0; c < headers.size(); ++c) {
    std::size_t w = headers[c].size();
    for (const auto& row : rows) w = std::max(w, row[c + 1].size());
    widths.push_back(w);
  }
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line +=
          (c == 0 ? "" : "  ") + (c + 1 == cells.size() ? cells[c] : padRight(cells[c], widths[c]));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + line_ending;
  };
  std::vector<std::string> header_row = {"#"};
  header_row.insert(header_row.end(), headers.begin(), headers.end());
  emit(header_row);
  for (const auto& row : rows) emit(row);
  return out;
}

}  // namespace rds_sim
