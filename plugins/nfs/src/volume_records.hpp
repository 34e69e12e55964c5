// The controller's records of its volumes and snapshots, kept as small JSON files on the home
// export (<share>/.polycsi/volumes/<id>.json, <share>/.polycsi/snapshots/<id>.json), so a
// controller that moves to another machine finds them again and a volume id alone leads to
// its server, export and directory.
//
// Ids are derived from the CSI name: the name itself when it is a valid polycsi local id
// ([A-Za-z0-9_-], up to 64 bytes, not starting with '.'), otherwise "h-" and a hash of it.
// A record keeps the name, so a hash collision is detected, never silently shared.
//
// THREADING: stateless apart from the session passed in; the core never runs two calls for the
// same volume at once, and every record is one file written atomically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nfs_client.hpp"
#include "nfs_settings.hpp"
#include "polycsi/paging.hpp"

namespace polycsi::nfs {

enum class RecordKind { kVolume, kSnapshot };

struct VolumeRecord {
  std::string id;
  std::string name;
  NfsExport where;
  std::string subDir;  // relative to where.share
  int64_t capacityBytes = 0;
  int mountPermissions = 0777;
  OnDelete onDelete = OnDelete::kDelete;
  std::string sourceSnapshotId;
  std::string sourceVolumeId;
  bool complete = false;  // false while the directory is being made or filled
  // True when a copy fills the directory through staging (copy_jobs.hpp), so the directory
  // appears only once complete. False for records of earlier versions, which copied in place.
  bool stagedCopy = false;
  int64_t createdUnixNs = 0;
};

struct SnapshotRecord {
  std::string id;
  std::string name;
  std::string sourceVolumeId;
  NfsExport where;   // the source volume's export, which holds the copy
  std::string path;  // ".snapshots/<id>", relative to where.share
  int64_t sizeBytes = 0;
  bool complete = false;
  bool stagedCopy = false;  // as VolumeRecord::stagedCopy
  int64_t createdUnixNs = 0;
  std::string groupSnapshotId;  // the group it is a member of; empty when none
};

// The local id for CSI name `name`.
std::string deriveId(RecordKind kind, const std::string& name);
// True when `id` has the shape deriveId produces (so it may name a record file).
bool isRecordId(const std::string& id);
// The paging tokens of listVolumes / listSnapshots: record ids (isRecordId).
paging::TokenRule listingTokenRule();

// The directory (relative to the home export) holding records of `kind`.
std::string recordDirectory(RecordKind kind);

class VolumeRecords {
 public:
  // `home` must be a session on the controller's home export.
  explicit VolumeRecords(NfsSession& home) : home_(home) {}

  // Creates the record directories when missing.
  void prepare();
  std::optional<VolumeRecord> findVolume(const std::string& id);
  std::optional<SnapshotRecord> findSnapshot(const std::string& id);
  void saveVolume(const VolumeRecord& record);
  void saveSnapshot(const SnapshotRecord& record);
  // Removing what is gone is success.
  void removeVolume(const std::string& id);
  void removeSnapshot(const std::string& id);
  // Every record, sorted by id; unreadable files are skipped and named in `problems`.
  std::vector<VolumeRecord> allVolumes(const Call& call, std::vector<std::string>& problems);
  std::vector<SnapshotRecord> allSnapshots(const Call& call, std::vector<std::string>& problems);

 private:
  std::vector<std::string> recordIds(RecordKind kind);

  NfsSession& home_;
};

int64_t nowUnixNs();

}  // namespace polycsi::nfs
