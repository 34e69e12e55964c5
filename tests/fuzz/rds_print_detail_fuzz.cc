// Fuzz target: the RouterOS `print detail` parser of the rds_nvme plugin
// (plugins/rds_nvme/src/print_detail_parser.cc) and the size parser it uses.
//
// The input is what an RDS (or anything pretending to be one) prints. Invariants:
//   - the parser either returns entries or throws polycsi::Error(INTERNAL), nothing else;
//   - entries printed without a number (DiskEntry::kUnnumbered) come first, and only with flag
//     letters; entry numbers increase, flags are letters or '*', keys are RouterOS property
//     names;
//   - the entries, printed again the way RouterOS prints them (every value quoted with
//     RouterOS escapes, \XX for bytes outside printable ASCII), parse to the same entries;
//   - a size parsed from any value is not negative, and the typed accessors throw only Error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "print_detail_parser.hpp"
#include "routeros_values.hpp"

namespace {

using polycsi::Code;
using polycsi::Error;
using polycsi::fuzz::visible;
using polycsi::rds_nvme::DiskEntry;
using polycsi::rds_nvme::parseDiskPrintDetail;
using polycsi::rds_nvme::parseRouterOsSize;

bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

// A value as RouterOS quotes it.
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (unsigned char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[4];
      std::snprintf(hex, sizeof hex, "\\%02X", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// The entries as RouterOS prints them: numbers right-aligned, flags after the number, a
// comment on the first line with the properties on the next one, otherwise the properties on
// the first line. Unnumbered entries print as some transcripts show them: flags the legend
// names, then the properties, at column 0; after them every number starts at column 0 too.
std::string print(const std::vector<DiskEntry>& entries) {
  bool anyUnnumbered = false;
  std::string legend = "Flags: X - disabled";
  size_t width = 1;
  for (const auto& e : entries) {
    if (e.index == DiskEntry::kUnnumbered) {
      anyUnnumbered = true;
      for (char flag : e.flags)
        if (legend.find(std::string("; ") + flag + " - ") == std::string::npos)
          legend += std::string("; ") + flag + " - flag";
    } else {
      width = std::max(width, std::to_string(e.index).size() + 1);
    }
  }
  std::string out = legend + "\n\n";
  for (const auto& e : entries) {
    std::string props;
    for (const auto& [key, value] : e.properties())
      props += " " + std::string(key) + "=" + quoted(std::string(value));
    if (e.index == DiskEntry::kUnnumbered) {
      std::string line;
      for (char flag : e.flags) line += std::string(1, flag) + " ";
      out += line + props.substr(1) + "\n\n";
      continue;
    }
    std::string number = std::to_string(e.index);
    std::string line =
        (anyUnnumbered ? std::string() : std::string(width - number.size(), ' ')) + number;
    for (char flag : e.flags) line += std::string(" ") + flag;
    const bool commentLine = !e.comment.empty() || (e.flags.empty() && e.propertyCount() == 0);
    if (commentLine) {
      out += line + " ;;; " + e.comment + "\n";
      if (!props.empty()) out += std::string(width + 4, ' ') + props.substr(1) + "\n";
    } else {
      out += line + props + "\n";
    }
    out += "\n";
  }
  return out;
}

std::string describe(const std::vector<DiskEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    out += std::to_string(e.index) + " flags='" + visible(e.flags) + "' comment='" +
           visible(e.comment) + "'";
    for (const auto& [key, value] : e.properties())
      out += " " + visible(std::string(key)) + "='" + visible(std::string(value)) + "'";
    out += "\n";
  }
  return out;
}

bool same(const std::vector<DiskEntry>& a, const std::vector<DiskEntry>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].index != b[i].index || a[i].flags != b[i].flags || a[i].comment != b[i].comment ||
        a[i].properties() != b[i].properties())
      return false;
  return true;
}

void checkEntries(const std::vector<DiskEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const DiskEntry& e = entries[i];
    if (e.index == DiskEntry::kUnnumbered) {
      POLYCSI_FUZZ_CHECK(i == 0 || entries[i - 1].index == DiskEntry::kUnnumbered,
                         describe(entries));
      POLYCSI_FUZZ_CHECK(e.comment.empty() && e.propertyCount() > 0, describe(entries));
      for (char flag : e.flags)
        POLYCSI_FUZZ_CHECK((flag >= 'a' && flag <= 'z') || (flag >= 'A' && flag <= 'Z'),
                           describe(entries));
    } else {
      POLYCSI_FUZZ_CHECK(e.index >= 0, describe(entries));
      if (i > 0) POLYCSI_FUZZ_CHECK(e.index > entries[i - 1].index, describe(entries));
    }
    for (char flag : e.flags)
      POLYCSI_FUZZ_CHECK(
          (flag >= 'a' && flag <= 'z') || (flag >= 'A' && flag <= 'Z') || flag == '*',
          describe(entries));
    for (const auto& [key, value] : e.properties()) {
      POLYCSI_FUZZ_CHECK(!key.empty(), describe(entries));
      for (char c : key) POLYCSI_FUZZ_CHECK(isKeyChar(c), describe(entries));
      if (auto size = parseRouterOsSize(value))
        POLYCSI_FUZZ_CHECK(*size >= 0,
                           visible(std::string(value)) + " parsed as " + std::to_string(*size));
      try {
        (void)e.bytes(key);
      } catch (const Error& error) {
        POLYCSI_FUZZ_CHECK(error.code() == Code::kInternal, error.what());
      }
      (void)e.flag(key);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view output(reinterpret_cast<const char*>(data), size);
  std::vector<DiskEntry> entries;
  try {
    entries = parseDiskPrintDetail(output);
  } catch (const Error& error) {
    POLYCSI_FUZZ_CHECK(error.code() == Code::kInternal,
                       "parser threw " + error.status().toString());
    return 0;
  }
  checkEntries(entries);
  const std::string printed = print(entries);
  std::vector<DiskEntry> reparsed;
  try {
    reparsed = parseDiskPrintDetail(printed);
  } catch (const Error& error) {
    POLYCSI_FUZZ_CHECK(false, std::string("the printed entries do not parse: ") + error.what() +
                                  "\nprinted:\n" + visible(printed));
  }
  POLYCSI_FUZZ_CHECK(same(entries, reparsed), "parsed:\n" + describe(entries) + "printed:\n" +
                                                  visible(printed) + "\nparsed again:\n" +
                                                  describe(reparsed));
  return 0;
}
