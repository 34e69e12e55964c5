// Snapshots of the rds_nvme backend: unexported copies of a volume's disk (copy-from), in the
// source volume's directory. The snapshot's file name records its source and creation time
// (volume_naming.hpp), so listing needs no state of our own.
#include <algorithm>
#include <chrono>

#include "message_text.hpp"
#include "rds_backend.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme {
namespace {

// The plugin takes no VolumeSnapshotClass parameters (the core keeps the snapshotter's own
// csi.storage.k8s.io/ keys from plugins).
void checkSnapshotParameters(const StringMap& parameters) {
  if (!parameters.empty())
    throw Error(Code::kInvalidArgument, "snapshot parameter " +
                                            printableForMessage(parameters.begin()->first) +
                                            " is not understood by the rds_nvme plugin (it "
                                            "takes none)");
}

}  // namespace

Snapshot RdsBackend::toSnapshot(const RdsDisk& disk) const {
  SlotName slot = SlotName::parse(disk.slot, "snapshot slot");
  auto info = parseSnapshotFilePath(disk.filePath, slot);
  if (!info)
    throw Error(Code::kInternal, "RDS disk " + slot.str() + " looks like a snapshot but its file " +
                                     printableForMessage(disk.filePath) +
                                     " does not record a source");
  Snapshot s;
  s.id = slot.str();
  s.sourceVolumeId = info->source.str();
  s.sizeBytes = RdsClient::diskBytes(disk);
  s.creationTimeUnixNs = info->createdUnixSeconds * 1000000000;
  s.readyToUse = true;
  s.groupSnapshotId = groupOfSnapshotComment(disk.comment);
  return s;
}

Snapshot RdsBackend::createSnapshot(const CreateSnapshotRequest& req) {
  const SlotName slot = snapshotSlotForName(req.name);
  const SlotName source = SlotName::parse(req.sourceVolumeId, "source volume id");
  checkSnapshotParameters(req.parameters);
  if (!isVolumeSlot(source, settings_.volumePrefix))
    throw Error(Code::kNotFound, "volume " + source.str() + " does not exist");
  req.call.checkpoint("create snapshot " + req.name);

  RdsClient& rds = client();
  auto held = slotLocks_->lock(slot.str(), req.call);
  if (auto existing = rds.findDisk(slot, req.call)) {
    forgetCopy(slot, req.call);  // a copy's outcome: the disk is listed
    Snapshot s = toSnapshot(*existing);
    if (s.sourceVolumeId != source.str())
      throw Error(Code::kAlreadyExists, "snapshot " + req.name + " already exists for volume " +
                                            s.sourceVolumeId + ", not " + source.str());
    if (s.groupSnapshotId != req.groupSnapshotId)
      throw Error(Code::kAlreadyExists, "snapshot " + req.name + " already exists in group '" +
                                            s.groupSnapshotId + "', not '" +
                                            printableForMessage(req.groupSnapshotId) +
                                            "' (empty: on its own)");
    return s;
  }
  bool copied;
  if (auto running = copies_->status(slot.str())) {
    if (running->snapshot && running->snapshot->sourceVolumeId != source.str())
      throw Error(Code::kAlreadyExists, "snapshot " + req.name + " is being made of volume " +
                                            running->snapshot->sourceVolumeId + ", not " +
                                            source.str());
    copied = awaitCopy(slot, req.call, nullptr);  // a retry joins the running copy
  } else {
    auto origin = rds.findDisk(source, req.call);
    if (!origin) throw Error(Code::kNotFound, "volume " + source.str() + " does not exist");
    refuseASecondCopy(slot, "snapshot " + req.name, req.call);
    std::string originPath = origin->filePath;
    if (!originPath.empty() && originPath[0] != '/') originPath = "/" + originPath;
    DiskPath directory = DiskPath::parse(originPath, "file-path of " + source.str()).parent();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    DiskSpec spec{slot,         snapshotFilePath(directory, slot, source, now),
                  std::nullopt, source,
                  false,        std::nullopt,
                  std::nullopt};
    // A group's member carries the group in the disk's comment, where any controller replica
    // reads it back when it lists the group.
    if (!req.groupSnapshotId.empty()) spec.comment = groupSnapshotComment(req.groupSnapshotId);
    // What CreateSnapshot answers while the copy runs: the id is final, not ready to use
    // (the external-snapshotter calls again until it is).
    Snapshot pending;
    pending.id = slot.str();
    pending.sourceVolumeId = source.str();
    pending.sizeBytes = RdsClient::diskBytes(*origin);
    pending.creationTimeUnixNs = now * 1000000000;
    pending.readyToUse = false;
    pending.groupSnapshotId = req.groupSnapshotId;
    CopyJobs::Work work = [this, spec, name = req.name](CopyJobs::Context& job) {
      client().addCopiedDisk(spec, job.call(), settings_.copyTimeout);
      ledger_->add(spec.slot.str());
      host_.info("created RDS snapshot disk " + spec.slot.str() + " of " + spec.copyFrom->str() +
                 " for " + name);
    };
    copied = awaitCopy(slot, req.call, &work, pending);
  }
  if (!copied) {
    auto running = copies_->status(slot.str());
    if (running && running->snapshot) return *running->snapshot;
    throw Error(Code::kAborted, "snapshot " + req.name + ": copy in progress into RDS disk " +
                                    slot.str() + "; a retry waits for it");
  }
  auto disk = rds.findDisk(slot, req.call);
  if (!disk)
    throw Error(Code::kInternal, "the copy into RDS disk " + slot.str() +
                                     " succeeded but RouterOS no longer lists the disk");
  ledger_->add(slot.str());
  return toSnapshot(*disk);
}

void RdsBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  SlotName slot = SlotName::parse(req.snapshotId, "snapshot id");
  if (!isSnapshotSlot(slot)) return;  // never a snapshot of ours: nothing to delete
  deleteSlot(slot, req.call);
  ledger_->remove(slot.str());
  host_.info("deleted RDS snapshot disk " + slot.str());
}

SnapshotPage RdsBackend::listSnapshots(const ListRequest& req) {
  paging::checkKeyRequest(req, listingTokenRule());
  if (!req.snapshotId.empty() && !SlotName::isValid(req.snapshotId)) return {};
  if (!req.sourceVolumeId.empty() && !SlotName::isValid(req.sourceVolumeId)) return {};
  std::vector<Snapshot> all;
  for (const auto& disk :
       client().listDisks(SlotPrefix::parse("snap-", "snapshot prefix"), req.call)) {
    if (!SlotName::isValid(disk.slot) ||
        !parseSnapshotFilePath(disk.filePath, SlotName::parse(disk.slot, "slot")))
      continue;  // not one of ours
    Snapshot s = toSnapshot(disk);
    if (!req.snapshotId.empty() && s.id != req.snapshotId) continue;
    if (!req.sourceVolumeId.empty() && s.sourceVolumeId != req.sourceVolumeId) continue;
    if (!req.groupSnapshotId.empty() && s.groupSnapshotId != req.groupSnapshotId) continue;
    all.push_back(std::move(s));
  }
  auto page = paging::pageAfterKey(std::move(all), req, listingTokenRule(),
                                   [](const Snapshot& s) -> const std::string& { return s.id; });
  return SnapshotPage{.snapshots = std::move(page.items), .nextToken = std::move(page.nextToken)};
}

}  // namespace polycsi::rds_nvme
