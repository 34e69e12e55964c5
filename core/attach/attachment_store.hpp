// Durable attachment state in SQLite: a transition is committed (fsync'd by SQLite) before
// the RPC that caused it answers, so a restarted controller recovers every attachment and open
// migration window with its original start time.
// THREADING: thread-safe (one connection behind a mutex).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attach/attachment_state.hpp"
#include "polycsi/types.hpp"

struct sqlite3;

namespace polycsi::attach {

class AttachmentStore {
 public:
  // Opens (creating when missing) the database file; INTERNAL naming the path on failure.
  static StatusOr<std::unique_ptr<AttachmentStore>> open(const std::string& path);
  ~AttachmentStore();

  // Replaces the stored state of state.volumeId atomically; a state with no nodes is deleted.
  Status save(const VolumeAttachmentState& state);
  // Every stored state.
  StatusOr<std::vector<VolumeAttachmentState>> loadAll() const;

 private:
  explicit AttachmentStore(sqlite3* db);
  sqlite3* db_;
  mutable std::mutex mu_;
};

}  // namespace polycsi::attach
