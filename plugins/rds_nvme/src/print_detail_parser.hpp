// Parser for RouterOS `print detail` output (/disk, /file and any other menu).
//
// Handles what RouterOS prints (plugins/rds_nvme/tests/fixtures/routeros/ holds the published
// transcripts each shape comes from): an optional `Flags:` legend, possibly wrapped over several
// lines (a wrapped part may start at column 0: `M - mlag`); a line holding only blanks between
// entries; numbered entries ` 0 X  key=value ...` with flag letters after the number (a
// positional column: `27 B r type=raid`); entries printed WITHOUT a number (`type=file slot=...`
// at column 0, or legend flag letters then `key=`), as some `print detail where ...` transcripts
// show; a `;;; comment` after the flags, whose text may continue on following lines (even at
// column 0) until the first `key=`; continuation lines; quoted values with RouterOS escapes
// (\" \\ \n \t \_ \XX ...); bare values that contain spaces (`size=53 687 091 200`,
// `last-modified=2024-11-25 13:14:28`, `type=.json file`, even wrapped: `type=.img` + newline +
// `file size=...`) and the different wrapping the same output gets at different terminal widths.
// A bare value runs up to the next `key=`.
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polycsi::rds_nvme {

struct DiskEntry {
  static constexpr int kUnnumbered = -1;
  int index = 0;      // the number RouterOS printed, or kUnnumbered when it printed none
  std::string flags;  // flag letters as printed, e.g. "X" or "Bt"
  // Text after ";;;", trimmed; the lines of a multi-line comment joined by '\n'.
  std::string comment;

  bool hasFlag(char flag) const { return flags.find(flag) != std::string::npos; }
  // 'X': the item is disabled.
  bool disabled() const { return hasFlag('X'); }
  // The value of `key` (unquoted and unescaped), or nullopt. The view is valid while the
  // entry is and is not changed.
  std::optional<std::string_view> find(std::string_view key) const;
  // The value of `key`, or nullopt.
  std::optional<std::string> get(std::string_view key) const;
  // The value of `key`, or `fallback`.
  std::string getOr(std::string_view key, const std::string& fallback = "") const;
  // The value of `key` as a size in bytes (parseRouterOsSize); nullopt when absent.
  // Throws Error(kInternal) when present but not a size.
  std::optional<int64_t> bytes(std::string_view key) const;
  // `yes`/`true` -> true, `no`/`false` -> false; nullopt when absent or anything else.
  std::optional<bool> flag(std::string_view key) const;
  // Every property in print order; a key printed twice appears once, with its last value.
  std::vector<std::pair<std::string_view, std::string_view>> properties() const;
  size_t propertyCount() const { return spans_.size(); }

  // Sets `key` to `value`, replacing an earlier value of the same key.
  void set(std::string_view key, std::string_view value);

 private:
  friend class DiskEntryBuilder;
  // Keys and values live back to back in one string, found through offsets: a listing of
  // 10,000 disks (250,000 properties) spent most of its parse time allocating and freeing
  // one map node and two strings per property (bench/README.md).
  struct Span {
    uint32_t keyStart = 0;
    uint32_t keyLength = 0;
    uint32_t valueStart = 0;
    uint32_t valueLength = 0;
  };
  std::string_view keyOf(const Span& span) const;
  std::string_view valueOf(const Span& span) const;
  // Adds a property whose bytes are already in text_, replacing an earlier one of its key.
  void addSpan(const Span& span);

  std::string text_;
  std::vector<Span> spans_;
};

// Parses `print detail` output. Empty output (or a header only) gives no entries.
// Throws Error(kInternal) naming the line when the text is not print output, e.g. an error
// message that was not recognised earlier (see routeros_errors.hpp).
std::vector<DiskEntry> parseDiskPrintDetail(std::string_view output);

// A `/disk` entry with the properties the rds_nvme plugin reads, typed. The only place that
// knows their RouterOS names is parseRdsDisk; everything else uses these fields. A property
// RouterOS did not print is "" (or nullopt).
struct RdsDisk {
  std::string slot;                      // slot
  std::string filePath;                  // file-path, as printed (often without the leading '/')
  std::string mountPoint;                // mount-point (a pool disk's)
  std::optional<int64_t> sizeBytes;      // size: exact for a file disk once RouterOS knows it
  std::optional<int64_t> fileSizeBytes;  // file-size: the size asked for at /disk add
  std::optional<int64_t> freeBytes;      // free (a pool disk's)
  std::string nvmeTcpServerNqn;          // nvme-tcp-server-nqn
  std::optional<std::string> nvmeTcpServerPort;  // nvme-tcp-server-port
  std::string allowedHostNames;       // nvme-tcp-server-allow-host-name, comma-separated NQNs
  std::string comment;                // the entry's ";;; " comment, empty when none
  std::optional<bool> nvmeTcpExport;  // nvme-tcp-export (yes/no); nullopt when not printed
};

// The typed view of a /disk entry. Throws Error(kInternal) when a size is printed but is not
// one (DiskEntry::bytes).
RdsDisk parseRdsDisk(const DiskEntry& entry);
// parseDiskPrintDetail, then parseRdsDisk of each entry.
std::vector<RdsDisk> parseRdsDisks(std::string_view output);

// A `/file` entry with the properties the rds_nvme plugin reads.
struct RdsFile {
  std::string name;  // name: the path as printed (often without the leading '/')
};

// parseDiskPrintDetail of `/file print detail` output, then the typed view of each entry.
std::vector<RdsFile> parseRdsFiles(std::string_view output);

}  // namespace polycsi::rds_nvme
