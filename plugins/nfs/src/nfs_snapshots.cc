// Snapshots of the nfs backend: full server-side copies of a volume's directory, kept in
// <share>/.snapshots/<id> on the volume's export. A copy costs the volume's size in space and
// a read plus write of every byte through the controller (see README.md); it runs as a
// background job through staging (nfs_copies.cc).
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
  s.readyToUse = r.complete;  // false while the copy runs
  s.groupSnapshotId = r.groupSnapshotId;
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
    if (existing->groupSnapshotId != req.groupSnapshotId)
      throw Error(Code::kAlreadyExists,
                  "snapshot '" + printable(req.name) + "' already exists in group '" +
                      existing->groupSnapshotId + "', not '" + printable(req.groupSnapshotId) +
                      "' (empty: on its own)");
    if (existing->complete) return toSnapshot(*existing);
    record = *existing;  // its copy runs, or was interrupted: carried on below
  }
  if (!isRecordId(req.sourceVolumeId))
    throw Error(Code::kNotFound,
                "source volume '" + printable(req.sourceVolumeId) + "' does not exist");
  VolumeRecord source = requireVolume(records, req.sourceVolumeId);
  if (record.name.empty()) {
    record.name = req.name;
    record.sourceVolumeId = source.id;
    record.where = source.where;
    record.path = std::string(kSnapshotRoot) + "/" + record.id;
    // What a restore needs at least; the copy raises it when the data is larger.
    record.sizeBytes = source.capacityBytes;
    record.stagedCopy = true;
    record.createdUnixNs = nowUnixNs();
    record.groupSnapshotId = req.groupSnapshotId;
    records.saveSnapshot(record);
  }

  StagedCopy copy;
  copy.key = "snapshot/" + record.id;
  copy.id = record.id;
  copy.where = record.where;
  copy.sourcePath = source.subDir;
  copy.targetPath = record.path;
  copy.parentMode = 0700;
  copy.staged = record.stagedCopy;
  copy.what = "snapshot " + record.id + " of volume " + source.id;
  CopyJobStatus status = awaitCopy(copy.key, req.call, [this, copy, record](CopyJobs::Context& c) {
    runStagedCopy(c, copy, [&](NfsSession& home, const CopyReport& report) {
      SnapshotRecord done = record;
      done.sizeBytes = std::max(record.sizeBytes, report.bytes);
      done.complete = true;
      VolumeRecords(home).saveSnapshot(done);
      host_.info("created snapshot " + done.id + " of volume " + done.sourceVolumeId + " (" +
                 std::to_string(report.files) + " entries, " + std::to_string(report.bytes) +
                 " bytes copied)");
    });
  });
  // Still running: the snapshot exists but is not ready to use; the external-snapshotter
  // calls CreateSnapshot again until it is (external-snapshotter v8.1.0,
  // pkg/sidecar-controller/snapshot_controller.go: syncContent requeues a content that is not
  // ready, and checkandUpdateContentStatusOperation calls createSnapshotWrapper again).
  if (status.state == CopyJobStatus::State::kRunning) return toSnapshot(record);
  auto done = records.findSnapshot(record.id);
  if (!done || !done->complete)
    throw Error(Code::kInternal,
                "the copy for snapshot " + record.id + " finished but its record does not say so");
  return toSnapshot(*done);
}

void NfsBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  req.call.checkpoint("deleting snapshot " + printable(req.snapshotId));
  if (!isRecordId(req.snapshotId)) return;  // never one of ours
  // The snapshot's copy stops first, and none starts again until it is gone.
  CopyJobs::Block noCopy = copies_.stop("snapshot/" + req.snapshotId);
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  auto record = records.findSnapshot(req.snapshotId);
  if (!record) return;
  auto volumeSession =
      sameExport(record->where, *settings_.home) ? nullptr : connect(record->where, req.call);
  NfsSession& target = volumeSession ? *volumeSession : *home;
  removeStaging(target, record->id, req.call);
  target.removeTree(record->path, req.call);
  records.removeSnapshot(record->id);
  host_.info("deleted snapshot " + record->id);
}

SnapshotPage NfsBackend::listSnapshots(const ListRequest& req) {
  req.call.checkpoint("listing snapshots");
  // A bad request is refused before the export is mounted.
  paging::checkKeyRequest(req, listingTokenRule());
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  std::vector<std::string> problems;
  std::vector<SnapshotRecord> matching;
  for (auto& r : records.allSnapshots(req.call, problems)) {
    // A group's members are listed while their copies run (not ready to use): the core finds
    // every member there is to report, complete or roll back. Other listings show only what a
    // restore can use.
    if (!req.groupSnapshotId.empty()) {
      if (r.groupSnapshotId != req.groupSnapshotId) continue;
    } else if (!r.complete) {
      continue;
    }
    if (!req.snapshotId.empty() && r.id != req.snapshotId) continue;
    if (!req.sourceVolumeId.empty() && r.sourceVolumeId != req.sourceVolumeId) continue;
    matching.push_back(std::move(r));
  }
  for (const auto& p : problems) host_.warn("listing snapshots: " + p);
  auto page =
      paging::pageAfterKey(std::move(matching), req, listingTokenRule(),
                           [](const SnapshotRecord& r) -> const std::string& { return r.id; });
  SnapshotPage out{.nextToken = std::move(page.nextToken)};
  for (const auto& r : page.items) out.snapshots.push_back(toSnapshot(r));
  return out;
}

}  // namespace polycsi::nfs
