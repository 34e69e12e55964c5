#include "nfs_client.hpp"

#include <fcntl.h>
#include <nfsc/libnfs.h>
#include <sys/time.h>  // libnfs.h uses struct timeval without including it
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

// NFSv3 file types, which libnfs also reports for NFSv4 directory entries.
constexpr uint32_t kTypeRegular = 1;
constexpr uint32_t kTypeDirectory = 2;
constexpr uint32_t kTypeSymlink = 5;
constexpr size_t kMaxChunkBytes = 1 << 20;
// libnfs 4.0 reports no read/write maximum over NFSv4 and encodes a WRITE into a 4 KiB buffer
// (larger writes fail with "Failed to encode COMPOUND4args"); reads above 1 MiB break the
// connection. These sizes stay clear of both.
constexpr size_t kNfs4ReadChunkBytes = 256 * 1024;
constexpr size_t kNfs4WriteChunkBytes = 2048;

EntryType typeFromMode(uint64_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return EntryType::kFile;
    case S_IFDIR:
      return EntryType::kDirectory;
    case S_IFLNK:
      return EntryType::kSymlink;
    default:
      return EntryType::kOther;
  }
}

EntryType typeFromDirent(uint32_t type) {
  switch (type) {
    case kTypeRegular:
      return EntryType::kFile;
    case kTypeDirectory:
      return EntryType::kDirectory;
    case kTypeSymlink:
      return EntryType::kSymlink;
    default:
      return EntryType::kOther;
  }
}

bool allZero(const char* data, size_t size) {
  return std::all_of(data, data + size, [](char c) { return c == 0; });
}

// A random suffix for temporary names, so two writers never share one.
std::string randomSuffix() {
  static thread_local std::mt19937_64 generator(std::random_device{}());
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  uint64_t value = generator();
  for (int i = 0; i < 12; ++i, value >>= 4) out += kDigits[value & 0xf];
  return out;
}

// The libnfs timeout (whole seconds, at least one) for a session serving `call`.
int timeoutMillis(std::chrono::seconds configured, const Call& call) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(call.remaining()).count();
  auto seconds = std::max<int64_t>(1, std::min<int64_t>(configured.count(), left));
  return static_cast<int>(seconds * 1000);
}

// libnfs names every NFSv4 client "Libnfs pid:<pid> <time in seconds>" and picks a new
// verifier per context; two sessions opened by one process within a second would present the
// same name with different verifiers, which a server takes for a rebooted client, expiring the
// first session's state (its next OPEN fails with NFS4ERR_EXPIRED). Calls for different
// volumes run concurrently, each with its own sessions, so every session gets its own name.
void giveUniqueNfs4Identity(nfs_context* context) {
  static std::atomic<uint64_t> sessions{0};
  static thread_local std::mt19937_64 generator(std::random_device{}());
  uint64_t random = generator();
  std::string name = "polycsi pid:" + std::to_string(::getpid()) +
                     " session:" + std::to_string(sessions++) + " " + std::to_string(random);
  nfs4_set_client_name(context, name.c_str());
  char verifier[8];
  uint64_t bits = generator();
  std::memcpy(verifier, &bits, sizeof(verifier));
  nfs4_set_verifier(context, verifier);
}

// libnfs bounds RPCs by its timeout, not the TCP handshake: connecting to a server that drops
// packets (down behind a router, firewalled) would wait for the kernel's SYN retries, about two
// minutes. The handshake gives up after 1 + 2 + 4 + ... s, one term per SYN sent; allow as many
// as fit in `seconds`, and at least two (3 s: TCP_SYNCNT cannot be lower than 1).
int synRetriesWithin(int seconds) {
  int retries = 1;
  while (retries < 16 && (1 << (retries + 2)) - 1 <= seconds) ++retries;
  return retries;
}

// libnfs's text for the last failure; never null.
std::string lastError(nfs_context* context) {
  const char* text = nfs_get_error(context);
  return text != nullptr && *text != 0 ? text : "no detail from libnfs";
}

struct ContextCloser {
  void operator()(nfs_context* c) const { nfs_destroy_context(c); }
};

}  // namespace

std::string NfsTarget::url() const {
  std::string out = "nfs://" + where.server + where.share + "?version=" + std::to_string(version);
  if (nfsPort) out += "&nfsport=" + std::to_string(*nfsPort);
  if (mountPort && version == 3) out += "&mountport=" + std::to_string(*mountPort);
  return out;
}

std::string NfsTarget::describe() const { return where.server + ":" + where.share; }

std::string joinPath(const std::string& parent, const std::string& child) {
  if (parent.empty()) return child;
  if (child.empty()) return parent;
  return parent + "/" + child;
}

std::unique_ptr<NfsSession> NfsSession::connect(const NfsTarget& target, const Call& call) {
  call.checkpoint("connecting to NFS server " + target.describe());
  std::unique_ptr<nfs_context, ContextCloser> context(nfs_init_context());
  if (!context) throw Error(Code::kResourceExhausted, "cannot create an NFS client context");
  const int millis = timeoutMillis(target.timeout, call);
  nfs_set_timeout(context.get(), millis);
  nfs_set_tcp_syncnt(context.get(), synRetriesWithin(millis / 1000));
  if (target.version == 4) giveUniqueNfs4Identity(context.get());
  // A broken connection fails the call at once; the next call connects afresh.
  nfs_set_autoreconnect(context.get(), 0);
  nfs_url* url = nfs_parse_url_dir(context.get(), target.url().c_str());
  if (url == nullptr)
    throw Error(Code::kInvalidArgument,
                "cannot parse NFS url " + target.url() + ": " + lastError(context.get()));
  int rc = nfs_mount(context.get(), url->server, url->path);
  nfs_destroy_url(url);
  if (rc != 0) {
    std::string detail = lastError(context.get());
    // libnfs says only this when it never got (or lost) a connection.
    if (detail == "nfs_service failed")
      detail += " (no connection: the server refused it, did not accept it within " +
                std::to_string(std::max(3, millis / 1000)) + " s, or closed it)";
    std::string what =
        "cannot mount NFS export " + target.describe() + " (NFSv" + std::to_string(target.version) +
        (target.nfsPort ? ", port " + std::to_string(*target.nfsPort) : std::string()) +
        "): " + detail;
    bool timedOut =
        rc == -EINTR || rc == -ETIMEDOUT || detail.find("timed out") != std::string::npos;
    if (timedOut)
      throw Error(Code::kDeadlineExceeded,
                  what + " (no answer within " + std::to_string(target.timeout.count()) + " s)");
    if (rc == -EACCES || rc == -EPERM) throw Error(Code::kPermissionDenied, what);
    throw Error(Code::kUnavailable, what);
  }
  return std::unique_ptr<NfsSession>(new NfsSession(target, context.release()));
}

NfsSession::NfsSession(NfsTarget target, nfs_context* context)
    : target_(std::move(target)), context_(context) {}

NfsSession::~NfsSession() { nfs_destroy_context(context_); }

std::string NfsSession::absolute(const std::string& path) const { return "/" + path; }

void NfsSession::fail(int rc, const std::string& operation, const std::string& path,
                      std::string detail) {
  if (detail.empty()) detail = lastError(context_);
  std::string what =
      operation + " '" + printable(path) + "' on " + target_.describe() + " failed: " + detail;
  switch (-rc) {
    case ENOENT:
      throw Error(Code::kNotFound, what);
    case EEXIST:
      throw Error(Code::kAlreadyExists, what);
    case EACCES:
    case EPERM:
    case EROFS:
      throw Error(Code::kPermissionDenied, what);
    case ENOSPC:
    case EDQUOT:
      throw Error(Code::kResourceExhausted, what);
    case EINTR:
    case ETIMEDOUT:
      throw Error(Code::kDeadlineExceeded,
                  what + " (no answer within " + std::to_string(target_.timeout.count()) + " s)");
    default:
      break;
  }
  if (detail.find("timed out") != std::string::npos) throw Error(Code::kDeadlineExceeded, what);
  // EIO and friends: in libnfs these mostly mean the connection broke.
  if (rc == -EIO || rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -EPIPE || rc == -ENOTCONN ||
      detail.find("nfs_service") != std::string::npos)
    throw Error(Code::kUnavailable, what);
  throw Error(Code::kInternal, what);
}

std::optional<EntryInfo> NfsSession::stat(const std::string& path) {
  nfs_stat_64 st{};
  int rc = nfs_lstat64(context_, absolute(path).c_str(), &st);
  if (rc == -ENOENT) return std::nullopt;
  if (rc != 0) fail(rc, "stat", path);
  EntryInfo info;
  info.type = typeFromMode(st.nfs_mode);
  info.permissions = static_cast<int>(st.nfs_mode & 07777);
  info.sizeBytes = static_cast<int64_t>(st.nfs_size);
  info.uid = static_cast<uint32_t>(st.nfs_uid);
  info.gid = static_cast<uint32_t>(st.nfs_gid);
  return info;
}

void NfsSession::makeDirectories(const std::string& path, int mode) {
  size_t end = 0;
  while (end != std::string::npos) {
    end = path.find('/', end + 1);
    std::string prefix = path.substr(0, end);
    if (prefix.empty()) continue;
    auto existing = stat(prefix);
    if (existing) {
      if (existing->type != EntryType::kDirectory)
        throw Error(Code::kAlreadyExists, "'" + printable(prefix) + "' on " + target_.describe() +
                                              " exists and is not a directory");
      continue;
    }
    int rc = nfs_mkdir2(context_, absolute(prefix).c_str(), mode);
    if (rc == -EEXIST) continue;  // a concurrent creator won; stat above saw the gap
    if (rc != 0) fail(rc, "mkdir", prefix);
  }
}

bool NfsSession::makeDirectory(const std::string& path, int mode) {
  int rc = nfs_mkdir2(context_, absolute(path).c_str(), mode);
  if (rc == -EEXIST) return false;
  if (rc != 0) fail(rc, "mkdir", path);
  return true;
}

void NfsSession::setPermissions(const std::string& path, int mode) {
  int rc = nfs_chmod(context_, absolute(path).c_str(), mode);
  if (rc != 0) fail(rc, "chmod", path);
}

void NfsSession::rename(const std::string& from, const std::string& to) {
  int rc = nfs_rename(context_, absolute(from).c_str(), absolute(to).c_str());
  if (rc != 0) fail(rc, "rename to '" + printable(to) + "' of", from);
}

std::vector<DirEntry> NfsSession::list(const std::string& path) {
  nfsdir* dir = nullptr;
  int rc = nfs_opendir(context_, absolute(path).c_str(), &dir);
  if (rc != 0) fail(rc, "opendir", path);
  std::vector<DirEntry> out;
  while (nfsdirent* entry = nfs_readdir(context_, dir)) {
    std::string name = entry->name;
    if (name == "." || name == "..") continue;
    DirEntry item;
    item.name = name;
    item.info.type = typeFromDirent(entry->type);
    item.info.permissions = static_cast<int>(entry->mode & 07777);
    item.info.sizeBytes = static_cast<int64_t>(entry->size);
    item.info.uid = entry->uid;
    item.info.gid = entry->gid;
    out.push_back(std::move(item));
  }
  nfs_closedir(context_, dir);
  return out;
}

bool NfsSession::removeTree(const std::string& path, const Call& call) {
  auto info = stat(path);
  if (!info) return false;
  if (info->type == EntryType::kDirectory) {
    for (const auto& entry : list(path)) {
      call.checkpoint("removing '" + printable(path) + "' on " + target_.describe());
      removeTree(joinPath(path, entry.name), call);
    }
    int rc = nfs_rmdir(context_, absolute(path).c_str());
    if (rc != 0 && rc != -ENOENT) fail(rc, "rmdir", path);
  } else {
    removeFile(path);
  }
  return true;
}

bool NfsSession::removeFile(const std::string& path) {
  int rc = nfs_unlink(context_, absolute(path).c_str());
  if (rc == -ENOENT) return false;
  if (rc != 0) fail(rc, "unlink", path);
  return true;
}

ExportUsage NfsSession::usage() {
  nfs_statvfs_64 st{};
  int rc = nfs_statvfs64(context_, "/", &st);
  if (rc != 0) fail(rc, "statvfs", "");
  uint64_t unit = st.f_frsize != 0 ? st.f_frsize : st.f_bsize;
  ExportUsage out;
  out.totalBytes = static_cast<int64_t>(std::min<uint64_t>(st.f_blocks * unit, INT64_MAX));
  out.availableBytes = static_cast<int64_t>(std::min<uint64_t>(st.f_bavail * unit, INT64_MAX));
  return out;
}

CopyReport NfsSession::copyTree(const std::string& from, const std::string& to, const Call& call,
                                const CopyProgress& onProgress) {
  CopyReport report;
  auto made = [&](int64_t bytes) {
    if (onProgress) onProgress(1, bytes);
  };
  for (const auto& entry : list(from)) {
    call.checkpoint("copying '" + printable(from) + "' on " + target_.describe());
    std::string source = joinPath(from, entry.name);
    std::string target = joinPath(to, entry.name);
    switch (entry.info.type) {
      case EntryType::kDirectory: {
        int rc = nfs_mkdir2(context_, absolute(target).c_str(), entry.info.permissions);
        if (rc != 0 && rc != -EEXIST) fail(rc, "mkdir", target);
        ++report.files;
        made(0);
        CopyReport inner = copyTree(source, target, call, onProgress);
        report.bytes += inner.bytes;
        report.files += inner.files;
        report.ownersLost += inner.ownersLost;
        break;
      }
      case EntryType::kFile: {
        int64_t before = report.bytes;
        copyFile(source, target, entry.info, report, call);
        made(report.bytes - before);
        break;
      }
      case EntryType::kSymlink: {
        char* link = nullptr;
        int rc = nfs_readlink2(context_, absolute(source).c_str(), &link);
        if (rc != 0) fail(rc, "readlink", source);
        std::string value(link);
        std::free(link);
        rc = nfs_symlink(context_, value.c_str(), absolute(target).c_str());
        if (rc != 0 && rc != -EEXIST) fail(rc, "symlink", target);
        ++report.files;
        made(0);
        break;
      }
      case EntryType::kOther:
        throw Error(Code::kFailedPrecondition,
                    "cannot copy '" + printable(source) + "' on " + target_.describe() +
                        ": it is a device, socket or FIFO, which a server-side copy cannot "
                        "reproduce");
    }
  }
  return report;
}

void NfsSession::copyFile(const std::string& from, const std::string& to, const EntryInfo& info,
                          CopyReport& report, const Call& call) {
  nfsfh* in = nullptr;
  int rc = nfs_open2(context_, absolute(from).c_str(), O_RDONLY, 0, &in);
  if (rc != 0) fail(rc, "open", from);
  nfsfh* out = nullptr;
  rc = nfs_open2(context_, absolute(to).c_str(), O_WRONLY | O_CREAT | O_TRUNC, info.permissions,
                 &out);
  if (rc != 0) {
    std::string detail = lastError(context_);
    nfs_close(context_, in);
    fail(rc, "create", to, detail);
  }
  struct Closer {
    nfs_context* c;
    nfsfh* a;
    nfsfh* b;
    ~Closer() {
      nfs_close(c, a);
      nfs_close(c, b);
    }
  } closer{context_, in, out};

  std::vector<char> buffer(readChunk());
  const size_t piece = writeChunk();
  uint64_t offset = 0;
  for (;;) {
    call.checkpoint("copying '" + printable(from) + "' on " + target_.describe());
    int got = nfs_pread(context_, in, offset, buffer.size(), buffer.data());
    if (got < 0) fail(got, "read", from);
    if (got == 0) break;
    for (size_t at = 0; at < static_cast<size_t>(got); at += piece) {
      size_t size = std::min(piece, static_cast<size_t>(got) - at);
      if (!allZero(buffer.data() + at, size))
        writeAll(out, offset + at, buffer.data() + at, size, to);
    }
    offset += static_cast<uint64_t>(got);
  }
  // Trailing zeros were skipped: the size comes from truncating to the source's length.
  rc = nfs_ftruncate(context_, out, offset);
  if (rc != 0) fail(rc, "truncate", to);
  // Creation modes are not applied by every server (NFSv4 OPEN); set them explicitly.
  rc = nfs_fchmod(context_, out, info.permissions);
  if (rc != 0) fail(rc, "chmod", to);
  keepOwner(out, info, report);
  report.bytes += static_cast<int64_t>(offset);
  ++report.files;
}

void NfsSession::keepOwner(nfsfh* handle, const EntryInfo& info, CopyReport& report) {
  int rc = nfs_fchown(context_, handle, static_cast<int>(info.uid), static_cast<int>(info.gid));
  if (rc == -EPERM || rc == -EACCES || rc == -EINVAL) {
    // Root squashing: the copy is owned by the squashed user. Counted and reported, not fatal.
    ++report.ownersLost;
    return;
  }
  if (rc != 0) fail(rc, "chown", "(open file)");
}

size_t NfsSession::readChunk() const {
  uint64_t max = nfs_get_readmax(context_);
  return max > 0 ? std::min<uint64_t>(max, kMaxChunkBytes) : kNfs4ReadChunkBytes;
}

size_t NfsSession::writeChunk() const {
  uint64_t max = nfs_get_writemax(context_);
  return max > 0 ? std::min<uint64_t>(max, kMaxChunkBytes) : kNfs4WriteChunkBytes;
}

void NfsSession::writeAll(::nfsfh* handle, uint64_t offset, const char* data, size_t size,
                          const std::string& path) {
  const size_t piece = writeChunk();
  size_t done = 0;
  while (done < size) {
    int wrote =
        nfs_pwrite(context_, handle, offset + done, std::min(piece, size - done), data + done);
    if (wrote < 0) fail(wrote, "write", path);
    if (wrote == 0)
      throw Error(Code::kInternal, "write to '" + printable(path) + "' on " + target_.describe() +
                                       " made no progress");
    done += static_cast<size_t>(wrote);
  }
}

std::string NfsSession::readFile(const std::string& path, size_t maxBytes) {
  nfsfh* handle = nullptr;
  int rc = nfs_open2(context_, absolute(path).c_str(), O_RDONLY, 0, &handle);
  if (rc != 0) fail(rc, "open", path);
  std::string content;
  std::vector<char> buffer(readChunk());
  for (;;) {
    int got = nfs_pread(context_, handle, content.size(), buffer.size(), buffer.data());
    if (got < 0) {
      std::string detail = lastError(context_);
      nfs_close(context_, handle);
      fail(got, "read", path, detail);
    }
    if (got == 0) break;
    content.append(buffer.data(), static_cast<size_t>(got));
    if (content.size() > maxBytes) {
      nfs_close(context_, handle);
      throw Error(Code::kInternal, "'" + printable(path) + "' on " + target_.describe() +
                                       " is larger than " + std::to_string(maxBytes) + " bytes");
    }
  }
  nfs_close(context_, handle);
  return content;
}

void NfsSession::writeFileAtomically(const std::string& path, const std::string& content) {
  std::string temporary = path + ".tmp-" + randomSuffix();
  nfsfh* handle = nullptr;
  int rc =
      nfs_open2(context_, absolute(temporary).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644, &handle);
  if (rc != 0) fail(rc, "create", temporary);
  try {
    writeAll(handle, 0, content.data(), content.size(), temporary);
  } catch (const Error&) {
    nfs_close(context_, handle);
    nfs_unlink(context_, absolute(temporary).c_str());
    throw;
  }
  rc = nfs_fsync(context_, handle);
  std::string detail = rc != 0 ? lastError(context_) : "";
  nfs_close(context_, handle);
  if (rc != 0) {
    nfs_unlink(context_, absolute(temporary).c_str());
    fail(rc, "fsync", temporary, detail);
  }
  rc = nfs_rename(context_, absolute(temporary).c_str(), absolute(path).c_str());
  if (rc != 0) {
    detail = lastError(context_);
    nfs_unlink(context_, absolute(temporary).c_str());
    fail(rc, "rename", temporary, detail);
  }
}

}  // namespace polycsi::nfs
