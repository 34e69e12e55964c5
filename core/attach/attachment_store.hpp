// Durable attachment state in SQLite: a transition is committed (fsync'd by SQLite) before
// the RPC that caused it answers, so a restarted controller recovers every attachment and open
// migration window with its original start time (to the millisecond).
//
// Schema (PRAGMA user_version = 2): one row per attached volume in table `volumes`; nodes are a
// JSON array in attach order; node_modes a JSON object from node to its publish mode; the
// migration start is Unix epoch milliseconds, NULL when no window is open. A version 1 store is
// upgraded in place when opened (its publish modes unknown). Only bound parameters reach SQL.
//
// The SQLite code is in lib/libpolycsi_attachment_store.so (attachment_store_module.cc), which
// open() loads (attachment_store_library.{hpp,cc}): only a process that opens a store, a
// controller, maps libsqlite3; a node never does.
// THREADING: thread-safe (one connection behind a mutex, in the module).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "attach/attachment_state.hpp"
#include "polycsi/types.hpp"

namespace polycsi::attach {

struct StoreLibrary;
class SqliteAttachmentStore;  // the module's; opaque here

class AttachmentStore {
 public:
  struct Options {
    // FULL: every save is fsync'd before it returns (production). false: synchronous=OFF, for
    // tests that need speed and not crash safety.
    bool durable = true;
    // How long a save waits for another connection's lock before failing.
    std::chrono::milliseconds busyTimeout{5000};
  };

  // Opens (creating when missing) the database file at `path`, whose directory must exist;
  // WAL journal. Loads the store's library first (once per process): FAILED_PRECONDITION
  // naming the library file when it cannot be loaded or is of another build. INVALID_ARGUMENT
  // for an empty path, INTERNAL naming the path on any other failure (missing directory,
  // unreadable file, schema newer than this build).
  static StatusOr<std::unique_ptr<AttachmentStore>> open(const std::string& path);
  static StatusOr<std::unique_ptr<AttachmentStore>> open(const std::string& path,
                                                         const Options& options);
  ~AttachmentStore();
  AttachmentStore(const AttachmentStore&) = delete;
  AttachmentStore& operator=(const AttachmentStore&) = delete;

  // Replaces the stored state of state.volumeId atomically; a state with no nodes is deleted.
  // Idempotent. INTERNAL naming the path and the volume when SQLite fails.
  Status save(const VolumeAttachmentState& state);
  // Every stored state, ordered by volume id. INTERNAL naming the volume when a row is invalid.
  StatusOr<std::vector<VolumeAttachmentState>> loadAll() const;

  // The file this store writes.
  const std::string& path() const { return path_; }

 private:
  AttachmentStore(const StoreLibrary& library, SqliteAttachmentStore* store, std::string path);

  const StoreLibrary& library_;   // loaded for the life of the process
  SqliteAttachmentStore* store_;  // owned: closed through library_
  std::string path_;
};

}  // namespace polycsi::attach
