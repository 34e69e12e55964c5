// The controller's NFS client: one connection to one export through libnfs, so the controller
// needs no kernel NFS client and no privileged mount.
//
// Every call is bounded: libnfs gets the session's timeout for each RPC, and loops check the
// polycsi call's deadline and cancellation between RPCs. Failures become polycsi errors with
// a message naming the server, the export and the path: UNAVAILABLE when the server cannot be
// reached or the connection breaks, DEADLINE_EXCEEDED when it does not answer in time,
// NOT_FOUND / ALREADY_EXISTS / PERMISSION_DENIED / RESOURCE_EXHAUSTED for what the server says.
//
// Paths are relative to the export ("a/b"; "" is the export's root).
//
// THREADING: a session is used by one thread at a time; sessions are independent, so each
// backend call opens its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nfs_settings.hpp"
#include "polycsi/types.hpp"

struct nfs_context;
struct nfsfh;

namespace polycsi::nfs {

// How to reach an export.
struct NfsTarget {
  NfsExport where;
  int version = 4;
  std::optional<int> nfsPort;
  std::optional<int> mountPort;
  std::chrono::seconds timeout{10};

  // "nfs://server/share?version=4&nfsport=N", the form libnfs parses.
  std::string url() const;
  // "server:/share", for messages.
  std::string describe() const;
};

enum class EntryType { kFile, kDirectory, kSymlink, kOther };

struct EntryInfo {
  EntryType type = EntryType::kOther;
  int permissions = 0;  // the 07777 bits
  int64_t sizeBytes = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
};

struct DirEntry {
  std::string name;
  EntryInfo info;
};

struct ExportUsage {
  int64_t totalBytes = 0;
  int64_t availableBytes = 0;  // what an unprivileged writer may still use
};

// What copyTree did.
struct CopyReport {
  int64_t bytes = 0;       // bytes of regular file content (holes included)
  int64_t files = 0;       // files, directories and symlinks created
  int64_t ownersLost = 0;  // entries whose owner the server would not let the copy keep
};

class NfsSession {
 public:
  // Connects and mounts `target`. The connection timeout is the target's, shortened to what is
  // left of `call`. Throws UNAVAILABLE (refused, unreachable, export unknown) or
  // DEADLINE_EXCEEDED.
  static std::unique_ptr<NfsSession> connect(const NfsTarget& target, const Call& call);
  ~NfsSession();
  NfsSession(const NfsSession&) = delete;
  NfsSession& operator=(const NfsSession&) = delete;

  const NfsTarget& target() const { return target_; }

  // The entry at `path` (symlinks not followed), or nullopt when nothing is there.
  std::optional<EntryInfo> stat(const std::string& path);
  // Creates `path` and any missing parent with `mode`; existing directories are kept as they
  // are. Throws ALREADY_EXISTS when a component exists and is not a directory.
  void makeDirectories(const std::string& path, int mode);
  // Creates the single directory `path` with `mode`; false when something already exists there
  // (the server decides atomically, so two creators never both get true).
  bool makeDirectory(const std::string& path, int mode);
  // chmod. libnfs cannot chmod a directory over NFSv4 (it opens the object first), so there
  // this works for files only; makeDirectory applies the mode at creation instead.
  void setPermissions(const std::string& path, int mode);
  // Renames; throws NOT_FOUND when `from` is missing.
  void rename(const std::string& from, const std::string& to);
  // Removes `path` and everything below it; false when it was already gone.
  bool removeTree(const std::string& path, const Call& call);
  // The entries of a directory, without "." and "..".
  std::vector<DirEntry> list(const std::string& path);
  // The export's filesystem statistics.
  ExportUsage usage();
  // Copies the tree at `from` into the existing directory `to` (contents, permissions, owners
  // where the server allows, symlinks). Runs of zero bytes are not written, so sparse files
  // stay sparse. Throws FAILED_PRECONDITION for a device, socket or FIFO in the tree.
  // `onProgress` (optional) is told after each entry made: 1 entry and its bytes of content.
  using CopyProgress = std::function<void(int64_t entries, int64_t bytes)>;
  CopyReport copyTree(const std::string& from, const std::string& to, const Call& call,
                      const CopyProgress& onProgress = {});
  // Reads a whole small file (at most `maxBytes`); NOT_FOUND when it is missing.
  std::string readFile(const std::string& path, size_t maxBytes);
  // Writes `content` to `path` atomically: to a temporary name beside it, then renamed over.
  void writeFileAtomically(const std::string& path, const std::string& content);
  // Removes one file; false when it was already gone.
  bool removeFile(const std::string& path);

 private:
  NfsSession(NfsTarget target, nfs_context* context);
  // Throws the error for libnfs result `rc` of `operation` on `path`.
  // `detail` defaults to libnfs's last error text.
  [[noreturn]] void fail(int rc, const std::string& operation, const std::string& path,
                         std::string detail = {});
  std::string absolute(const std::string& path) const;
  void copyFile(const std::string& from, const std::string& to, const EntryInfo& info,
                CopyReport& report, const Call& call);
  // Bytes per READ and per WRITE this connection can carry.
  size_t readChunk() const;
  size_t writeChunk() const;
  // Writes all of data[0, size) at `offset`, in writeChunk() pieces.
  void writeAll(::nfsfh* handle, uint64_t offset, const char* data, size_t size,
                const std::string& path);
  void keepOwner(::nfsfh* handle, const EntryInfo& info, CopyReport& report);

  NfsTarget target_;
  nfs_context* context_;
};

// Joins relative export paths: join("a", "b") == "a/b", join("", "b") == "b".
std::string joinPath(const std::string& parent, const std::string& child);

}  // namespace polycsi::nfs
