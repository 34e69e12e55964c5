#include "node_record.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "polycsi/plugin.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

constexpr std::size_t kMaxRecordBytes = 1 << 20;  // open-iscsi's records are about 2 KiB
constexpr char kAuthMethod[] = "node.session.auth.authmethod";
constexpr char kUsername[] = "node.session.auth.username";
constexpr char kPassword[] = "node.session.auth.password";
constexpr char kUsernameIn[] = "node.session.auth.username_in";
constexpr char kPasswordIn[] = "node.session.auth.password_in";

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

[[noreturn]] void fail(Code code, const std::filesystem::path& record, const std::string& what) {
  throw Error(code, "iSCSI node record " + record.string() + ": " + what);
}

std::string errnoText() { return std::strerror(errno); }

// "host:port" or "[v6]:port" as iscsiadm names the record: "host,port" (no brackets).
std::string recordNameOf(const std::string& portal) {
  const std::size_t colon = portal.rfind(':');
  if (colon == std::string::npos) return portal;
  std::string host = portal.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host + "," + portal.substr(colon + 1);
}

// "host,port" itself, or "host,port,<tpgt>".
bool namesPortal(const std::string& entry, const std::string& base) {
  if (entry == base) return true;
  if (entry.size() <= base.size() + 1 || entry.compare(0, base.size(), base) != 0 ||
      entry[base.size()] != ',')
    return false;
  const std::string tpgt = entry.substr(base.size() + 1);
  return tpgt.find_first_not_of("0123456789") == std::string::npos;
}

void requireNoControlCharacters(const std::string& value, const char* what) {
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw Error(Code::kInvalidArgument,
                  std::string("the CHAP ") + what +
                      " holds a line break or control character, which open-iscsi's node "
                      "records cannot store");
    }
  }
}

std::string readAll(int fd, const std::filesystem::path& record) {
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Code::kInternal, record, "cannot be read: " + errnoText());
    if (n == 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxRecordBytes) fail(Code::kFailedPrecondition, record, "is too large");
  }
}

void writeAll(int fd, const std::string& text, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(Code::kInternal, path, "cannot be written: " + errnoText());
    done += static_cast<std::size_t>(n);
  }
}

// The record's lines with the auth settings in `wanted` replaced (or added before
// "# END RECORD") and those named in `dropped` removed.
std::string withAuth(const std::string& original,
                     const std::vector<std::pair<std::string, std::string>>& wanted,
                     const std::vector<std::string>& dropped) {
  std::vector<bool> written(wanted.size(), false);
  std::ostringstream out;
  auto writeMissing = [&] {
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (!written[i]) out << wanted[i].first << " = " << wanted[i].second << "\n";
      written[i] = true;
    }
  };
  std::istringstream in(original);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# END RECORD", 0) == 0) writeMissing();
    const std::size_t equals = line.find(" = ");
    const std::string key = equals == std::string::npos ? std::string() : line.substr(0, equals);
    if (!key.empty() && std::find(dropped.begin(), dropped.end(), key) != dropped.end()) continue;
    bool replaced = false;
    for (std::size_t i = 0; i < wanted.size(); ++i) {
      if (key == wanted[i].first) {
        if (!written[i]) out << wanted[i].first << " = " << wanted[i].second << "\n";
        written[i] = true;
        replaced = true;
      }
    }
    if (!replaced) out << line << "\n";
  }
  writeMissing();
  return out.str();
}

}  // namespace

std::vector<std::filesystem::path> findNodeRecords(const std::filesystem::path& nodesDir,
                                                   const std::string& targetIqn,
                                                   const std::string& portal) {
  std::vector<std::filesystem::path> records;
  const std::filesystem::path targetDir = nodesDir / targetIqn;
  const std::string base = recordNameOf(portal);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(targetDir, ec)) {
    if (!namesPortal(entry.path().filename().string(), base)) continue;
    if (entry.is_symlink(ec)) continue;  // never ours to follow; writeChap would refuse it
    if (entry.is_regular_file(ec)) {
      records.push_back(entry.path());
    } else if (entry.is_directory(ec)) {
      for (const auto& iface : std::filesystem::directory_iterator(entry.path(), ec)) {
        const std::string name = iface.path().filename().string();
        if (!name.empty() && name.front() != '.' && !iface.is_symlink(ec) &&
            iface.is_regular_file(ec))
          records.push_back(iface.path());
      }
    }
  }
  std::sort(records.begin(), records.end());
  return records;
}

void writeChapToNodeRecord(const std::filesystem::path& record, const std::string& user,
                           const std::string& password, const std::string& mutualUser,
                           const std::string& mutualPassword) {
  requireNoControlCharacters(user, "user");
  requireNoControlCharacters(password, "secret");
  requireNoControlCharacters(mutualUser, "mutual user");
  requireNoControlCharacters(mutualPassword, "mutual secret");
  std::vector<std::pair<std::string, std::string>> wanted = {
      {kAuthMethod, "CHAP"}, {kUsername, user}, {kPassword, password}};
  std::vector<std::string> dropped;
  if (mutualUser.empty()) {
    dropped = {kUsernameIn, kPasswordIn};
  } else {
    wanted.push_back({kUsernameIn, mutualUser});
    wanted.push_back({kPasswordIn, mutualPassword});
  }
  const std::filesystem::path directory = record.parent_path();
  const std::string name = record.filename().string();
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) fail(Code::kFailedPrecondition, record, "its directory: " + errnoText());

  FileDescriptor current(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!current.valid()) {
    fail(Code::kFailedPrecondition, record,
         errno == ELOOP ? std::string("is a symlink; refusing to follow it")
                        : "cannot be opened: " + errnoText());
  }
  struct stat info {};
  if (::fstat(current.get(), &info) != 0) fail(Code::kInternal, record, errnoText());
  if (!S_ISREG(info.st_mode)) fail(Code::kFailedPrecondition, record, "is not a regular file");
  if (info.st_uid != ::geteuid()) {
    fail(Code::kFailedPrecondition, record,
         "is owned by uid " + std::to_string(info.st_uid) + ", not by this process (uid " +
             std::to_string(::geteuid()) + "); refusing to put a secret in it");
  }
  const std::string updated = withAuth(readAll(current.get(), record), wanted, dropped);

  // A new file, 0600 from its first byte, renamed over the record: no reader ever sees the
  // secret in a file with wider permissions, or half a record.
  const std::string temporary = "." + name + ".polycsi-tmp";
  if (::unlinkat(dir.get(), temporary.c_str(), 0) != 0 && errno != ENOENT)
    fail(Code::kInternal, directory / temporary, "cannot be removed: " + errnoText());
  {
    FileDescriptor out(::openat(dir.get(), temporary.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out.valid())
      fail(Code::kInternal, directory / temporary, "cannot be created: " + errnoText());
    if (::fchmod(out.get(), 0600) != 0)
      fail(Code::kInternal, directory / temporary, "chmod: " + errnoText());
    writeAll(out.get(), updated, directory / temporary);
    if (::fsync(out.get()) != 0)
      fail(Code::kInternal, directory / temporary, "fsync: " + errnoText());
  }
  if (::renameat(dir.get(), temporary.c_str(), dir.get(), name.c_str()) != 0) {
    const std::string reason = errnoText();
    ::unlinkat(dir.get(), temporary.c_str(), 0);
    fail(Code::kInternal, record, "cannot be replaced: " + reason);
  }
}

}  // namespace polycsi::iscsi_powerstore
