#include "node/mount_table.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "node/errno_status.hpp"

namespace polycsi::node {
namespace {

bool isOctalDigit(char c) { return c >= '0' && c <= '7'; }

std::vector<std::string_view> splitKeepingEmpty(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

std::vector<std::string> splitOptions(std::string_view text) {
  std::vector<std::string> options;
  for (std::string_view option : splitKeepingEmpty(text, ',')) {
    if (!option.empty()) options.emplace_back(option);
  }
  return options;
}

template <typename Number>
bool parseNumber(std::string_view text, Number& value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

Status malformed(size_t lineNumber, std::string_view line, std::string_view why) {
  return Status(Code::kInternal, "malformed mountinfo line " + std::to_string(lineNumber) + " (" +
                                     std::string(why) + "): " + std::string(line));
}

StatusOr<MountTableEntry> parseLine(std::string_view line, size_t lineNumber) {
  // id parent major:minor root mountpoint options [optional fields...] - fstype source super
  std::vector<std::string_view> fields = splitKeepingEmpty(line, ' ');
  auto separator = std::find(fields.begin() + std::min<size_t>(6, fields.size()), fields.end(),
                             std::string_view("-"));
  if (fields.size() < 10 || separator == fields.end() || fields.end() - separator != 4) {
    return malformed(lineNumber, line, "expected 6 fields, optional fields, '-' and 3 more");
  }
  MountTableEntry entry;
  std::string_view device = fields[2];
  size_t colon = device.find(':');
  if (!parseNumber(fields[0], entry.mountId) || !parseNumber(fields[1], entry.parentId) ||
      colon == std::string_view::npos || !parseNumber(device.substr(0, colon), entry.major) ||
      !parseNumber(device.substr(colon + 1), entry.minor)) {
    return malformed(lineNumber, line, "bad mount id, parent id or major:minor");
  }
  entry.root = unescapeMountInfoField(fields[3]);
  entry.mountPoint = unescapeMountInfoField(fields[4]);
  entry.mountOptions = splitOptions(fields[5]);
  entry.fsType = unescapeMountInfoField(separator[1]);
  entry.source = unescapeMountInfoField(separator[2]);
  entry.superOptions = splitOptions(separator[3]);
  return entry;
}

}  // namespace

std::string unescapeMountInfoField(std::string_view field) {
  std::string decoded;
  decoded.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && isOctalDigit(field[i + 1]) &&
        isOctalDigit(field[i + 2]) && isOctalDigit(field[i + 3])) {
      decoded.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                          (field[i + 3] - '0')));
      i += 3;
    } else {
      decoded.push_back(field[i]);
    }
  }
  return decoded;
}

StatusOr<std::vector<MountTableEntry>> parseMountInfo(std::string_view text) {
  std::vector<MountTableEntry> table;
  size_t lineNumber = 0;
  for (std::string_view line : splitKeepingEmpty(text, '\n')) {
    ++lineNumber;
    if (line.empty()) continue;
    StatusOr<MountTableEntry> entry = parseLine(line, lineNumber);
    if (!entry.isOk()) return entry.status();
    table.push_back(std::move(entry).value());
  }
  return table;
}

StatusOr<std::vector<MountTableEntry>> readMountTable() {
  constexpr const char* kPath = "/proc/self/mountinfo";
  int fd = ::open(kPath, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return statusFromErrno(errno, std::string("cannot open ") + kPath);
  std::string text;
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      text.append(buffer, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      int err = errno;
      ::close(fd);
      return statusFromErrno(err, std::string("cannot read ") + kPath);
    }
  }
  ::close(fd);
  return parseMountInfo(text);
}

const MountTableEntry* findTopmostMount(const std::vector<MountTableEntry>& table,
                                        const std::string& mountPoint) {
  // A mount stacked on top of another at the same place has that one as its parent, so the
  // visible one is the entry at this place that no other entry there sits on.
  const MountTableEntry* top = nullptr;
  for (const MountTableEntry& entry : table) {
    if (entry.mountPoint != mountPoint) continue;
    bool covered = std::any_of(table.begin(), table.end(), [&](const MountTableEntry& other) {
      return other.mountPoint == mountPoint && other.parentId == entry.mountId;
    });
    if (!covered) top = &entry;
  }
  return top;
}

bool isReadOnly(const MountTableEntry& entry) {
  auto hasRo = [](const std::vector<std::string>& options) {
    return std::find(options.begin(), options.end(), "ro") != options.end();
  };
  return hasRo(entry.mountOptions) || hasRo(entry.superOptions);
}

}  // namespace polycsi::node
