#include "volume_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>
#include <system_error>

#include "polycsi/types.hpp"

namespace scratch {
namespace {

namespace fs = std::filesystem;
using polycsi::Code;
using polycsi::Error;

constexpr std::string_view kSuffix = ".volume";
constexpr size_t kMaxIdLength = 56;

[[noreturn]] void fail(const std::string& what, int err) {
  throw Error(Code::kInternal, what + ": " + std::strerror(err));
}

// Writes `content` to `path` and flushes it to disk before returning.
void writeDurably(const fs::path& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail("cannot create " + path.string(), errno);
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      fail("cannot write " + path.string(), err);
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    fail("cannot flush " + path.string(), err);
  }
  if (::close(fd) != 0) fail("cannot close " + path.string(), errno);
}

VolumeRecord parse(const std::string& id, const fs::path& path, const std::string& text) {
  VolumeRecord record;
  record.id = id;
  bool haveCapacity = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq);
    const std::string value = line.substr(eq + 1);
    if (key == "capacity_bytes") {
      auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), record.capacityBytes);
      haveCapacity =
          ec == std::errc() && end == value.data() + value.size() && record.capacityBytes > 0;
    } else if (key == "mode") {
      record.mode = value;
    }
  }
  if (!haveCapacity || record.mode.empty())
    throw Error(Code::kInternal, "volume record " + path.string() +
                                     " is damaged (needs capacity_bytes=<n> and mode=<octal>)");
  return record;
}

}  // namespace

bool isValidVolumeId(const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength || !std::isalnum(static_cast<unsigned char>(id[0])))
    return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

VolumeStore::VolumeStore(fs::path directory) : directory_(std::move(directory)) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec)
    throw Error(Code::kInternal, "cannot create the volume record directory " +
                                     directory_.string() + ": " + ec.message());
}

fs::path VolumeStore::pathOf(const std::string& id) const {
  return directory_ / (id + std::string(kSuffix));
}

std::optional<VolumeRecord> VolumeStore::find(const std::string& id) const {
  const fs::path path = pathOf(id);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail("cannot open " + path.string(), errno);
  }
  std::string text;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      fail("cannot read " + path.string(), err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return parse(id, path, text);
}

void VolumeStore::save(const VolumeRecord& record) const {
  const fs::path path = pathOf(record.id);
  // A dot file never ends in kSuffix, so all() cannot mistake it for a record.
  const fs::path temporary = directory_ / ("." + record.id + ".tmp");
  writeDurably(temporary, "capacity_bytes=" + std::to_string(record.capacityBytes) +
                              "\nmode=" + record.mode + "\n");
  if (::rename(temporary.c_str(), path.c_str()) != 0)
    fail("cannot rename to " + path.string(), errno);
}

bool VolumeStore::remove(const std::string& id) const {
  const fs::path path = pathOf(id);
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  fail("cannot remove " + path.string(), errno);
}

std::vector<VolumeRecord> VolumeStore::all() const {
  std::vector<VolumeRecord> records;
  std::error_code ec;
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string file = it->path().filename().string();
    if (file.size() <= kSuffix.size() || !file.ends_with(kSuffix)) continue;
    const std::string id = file.substr(0, file.size() - kSuffix.size());
    if (!isValidVolumeId(id)) continue;
    // Deleted between listing and reading: simply not part of the answer.
    if (auto record = find(id)) records.push_back(*record);
  }
  if (ec)
    throw Error(Code::kInternal,
                "cannot list volume records in " + directory_.string() + ": " + ec.message());
  std::sort(records.begin(), records.end(),
            [](const VolumeRecord& a, const VolumeRecord& b) { return a.id < b.id; });
  return records;
}

}  // namespace scratch
