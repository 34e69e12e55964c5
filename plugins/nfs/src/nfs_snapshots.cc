// Snapshots of the nfs backend: full server-side copies of a volume's directory, kept in
// <share>/.snapshots/<id> on the volume's export. A copy costs the volume's size in space and
// a read plus write of every byte through the controller (see README.md).
#include <algorithm>

#include "nfs_backend.hpp"
#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

constexpr char kSnapshotRoot[] = ".snapshots";

bool sameExport(const NfsExport& a, const NfsExport& b) {
  return a.server == b.server && a.share == b.share;
}

}  // namespace

Snapshot NfsBackend::toSnapshot(const SnapshotRecord& r) {
  Snapshot s;
  s.id = r.id;
  s.sourceVolumeId = r.sourceVolumeId;
  s.sizeBytes = r.sizeBytes;
  s.creationTimeUnixNs = r.createdUnixNs;
  s.readyToUse = true;  // the copy is complete before the snapshot is reported
  return s;
}

Snapshot NfsBackend::createSnapshot(const CreateSnapshotRequest& req) {
  req.call.checkpoint("creating snapshot '" + printable(req.name) + "'");
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the snapshot name is empty");
  if (!req.parameters.empty())
    throw Error(Code::kInvalidArgument,
                "the nfs plugin takes no VolumeSnapshotClass parameters, got '" +
                    printable(req.parameters.begin()->first) + "'");
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  SnapshotRecord record;
  record.id = deriveId(RecordKind::kSnapshot, req.name);
  if (auto existing = records.findSnapshot(record.id)) {
    if (existing->name != req.name)
      throw Error(Code::kAlreadyExists, "snapshot id " + record.id + " belongs to '" +
                                            printable(existing->name) + "', not '" +
                                            printable(req.name) + "' (hash collision)");
    if (existing->sourceVolumeId != req.sourceVolumeId)
      throw Error(Code::kAlreadyExists,
                  "snapshot '" + printable(req.name) + "' already exists for volume '" +
                      existing->sourceVolumeId + "', not '" + printable(req.sourceVolumeId) + "'");
    if (existing->complete) return toSnapshot(*existing);
    record = *existing;  // interrupted: copy again below
  }
  if (!isRecordId(req.sourceVolumeId))
    throw Error(Code::kNotFound,
                "source volume '" + printable(req.sourceVolumeId) + "' does not exist");
  VolumeRecord source = requireVolume(records, req.sourceVolumeId);
  if (!record.complete && record.name.empty()) {
    record.name = req.name;
    record.sourceVolumeId = source.id;
    record.where = source.where;
    record.path = std::string(kSnapshotRoot) + "/" + record.id;
    record.createdUnixNs = nowUnixNs();
    records.saveSnapshot(record);
  }

  auto volumeSession =
      sameExport(record.where, *settings_.home) ? nullptr : connect(record.where, req.call);
  NfsSession& target = volumeSession ? *volumeSession : *home;
  target.makeDirectories(kSnapshotRoot, 0700);
  target.removeTree(record.path, req.call);  // a partial copy of an interrupted attempt
  auto sourceInfo = target.stat(source.subDir);
  if (!sourceInfo || sourceInfo->type != EntryType::kDirectory)
    throw Error(Code::kFailedPrecondition, "volume " + source.id + " has no directory " +
                                               source.where.server + ":" + source.where.share +
                                               "/" + source.subDir + " to snapshot");
  target.makeDirectory(record.path, sourceInfo->permissions);
  CopyReport report = target.copyTree(source.subDir, record.path, req.call);
  if (report.ownersLost > 0)
    host_.warn("snapshot " + record.id + ": the server kept " + std::to_string(report.ownersLost) +
               " entries from taking their original owner (root squashing?)");
  // The size a restore needs: the volume's nominal size, or the data when that is larger.
  record.sizeBytes = std::max(source.capacityBytes, report.bytes);
  record.complete = true;
  records.saveSnapshot(record);
  host_.info("created snapshot " + record.id + " of volume " + source.id + " (" +
             std::to_string(report.files) + " entries, " + std::to_string(report.bytes) +
             " bytes copied)");
  return toSnapshot(record);
}

void NfsBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  req.call.checkpoint("deleting snapshot " + printable(req.snapshotId));
  if (!isRecordId(req.snapshotId)) return;  // never one of ours
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  auto record = records.findSnapshot(req.snapshotId);
  if (!record) return;
  auto volumeSession =
      sameExport(record->where, *settings_.home) ? nullptr : connect(record->where, req.call);
  NfsSession& target = volumeSession ? *volumeSession : *home;
  target.removeTree(record->path, req.call);
  records.removeSnapshot(record->id);
  host_.info("deleted snapshot " + record->id);
}

SnapshotPage NfsBackend::listSnapshots(const ListRequest& req) {
  req.call.checkpoint("listing snapshots");
  if (req.maxEntries < 0)
    throw Error(Code::kInvalidArgument,
                "max_entries must not be negative, got " + std::to_string(req.maxEntries));
  if (!req.startingToken.empty() && !isRecordId(req.startingToken))
    throw Error(Code::kAborted, "starting token '" + printable(req.startingToken) +
                                    "' is not one this backend issued; list from the start");
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  std::vector<std::string> problems;
  std::vector<SnapshotRecord> matching;
  for (auto& r : records.allSnapshots(req.call, problems)) {
    if (!r.complete) continue;
    if (!req.snapshotId.empty() && r.id != req.snapshotId) continue;
    if (!req.sourceVolumeId.empty() && r.sourceVolumeId != req.sourceVolumeId) continue;
    matching.push_back(std::move(r));
  }
  for (const auto& p : problems) host_.warn("listing snapshots: " + p);
  SnapshotPage out;
  auto it = matching.begin();
  if (!req.startingToken.empty())
    it = std::upper_bound(
        matching.begin(), matching.end(), req.startingToken,
        [](const std::string& token, const SnapshotRecord& r) { return token < r.id; });
  for (; it != matching.end(); ++it) {
    if (req.maxEntries > 0 && out.snapshots.size() == static_cast<size_t>(req.maxEntries)) {
      out.nextToken = out.snapshots.back().id;
      break;
    }
    out.snapshots.push_back(toSnapshot(*it));
  }
  return out;
}

}  // namespace polycsi::nfs
