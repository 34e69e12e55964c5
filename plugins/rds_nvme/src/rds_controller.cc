// Volume calls of the rds_nvme backend: create (empty, restore, clone), delete, get, list,
// expand and capacity.
#include <algorithm>

#include "message_text.hpp"
#include "rds_backend.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme {
namespace {

constexpr int64_t kDefaultVolumeBytes = DiskSize::kGiB;

// A file-path as RouterOS prints it; relative paths (as /disk add accepts) gain the slash.
DiskPath printedPath(const std::string& text, const std::string& slot) {
  std::string path = text.empty() || text[0] == '/' ? text : "/" + text;
  try {
    return DiskPath::parse(path, "file-path");
  } catch (const Error& e) {
    throw Error(Code::kInternal,
                "RouterOS printed an unexpected file-path for disk " + slot + ": " + e.what());
  }
}

// The size of the disk create makes: required_bytes, else (empty volumes only) the default
// capped by limit_bytes, rounded up to whole MiB; nullopt for a copy that keeps its source's
// size. OUT_OF_RANGE for negative capacities or a rounded size above limit_bytes.
std::optional<DiskSize> sizeToCreate(const CreateVolumeRequest& req, bool fromSource) {
  if (req.requiredBytes < 0 || req.limitBytes < 0)
    throw Error(Code::kOutOfRange, "capacity must not be negative");
  int64_t wanted =
      req.requiredBytes > 0 ? req.requiredBytes : (fromSource ? 0 : kDefaultVolumeBytes);
  if (req.requiredBytes == 0 && req.limitBytes > 0 && !fromSource)
    wanted = std::min(wanted, req.limitBytes);
  std::optional<DiskSize> size;
  if (wanted > 0) size = DiskSize::roundUp(wanted);
  if (size && req.limitBytes > 0 && size->bytes() > req.limitBytes)
    throw Error(Code::kOutOfRange, "RDS disks are whole MiB: " + std::to_string(wanted) +
                                       " bytes round up to " + std::to_string(size->bytes()) +
                                       ", above limit_bytes " + std::to_string(req.limitBytes));
  return size;
}

}  // namespace

SlotName RdsBackend::volumeSlot(const std::string& id, const char* what) const {
  return SlotName::parse(id, what);
}

Volume RdsBackend::toVolume(const RdsDisk& disk, const VolumePlacement& placement) const {
  Volume v;
  v.id = disk.slot;
  v.capacityBytes = RdsClient::diskBytes(disk);
  v.context["nvmeAddress"] = placement.nvmeAddress.str();
  v.context["nvmePort"] = disk.nvmeTcpServerPort.value_or(placement.nvmePort.str());
  v.context["nqn"] = disk.nvmeTcpServerNqn;
  addToVolumeContext(placement.tuning, v.context);
  return v;
}

void RdsBackend::checkCompatible(const RdsDisk& disk, const CreateVolumeRequest& req,
                                 const DiskPath& path, const PortNumber& port,
                                 const Nqn& nqn) const {
  const std::string& slot = disk.slot;
  auto refuse = [&](const std::string& why) {
    throw Error(Code::kAlreadyExists,
                "volume " + req.name + " already exists as RDS disk " + slot + " but " + why);
  };
  int64_t bytes = RdsClient::diskBytes(disk);
  if (req.limitBytes > 0 && bytes > req.limitBytes)
    refuse("its " + std::to_string(bytes) + " bytes exceed limit_bytes " +
           std::to_string(req.limitBytes));
  if (printedPath(disk.filePath, slot) != path)
    refuse("its file is " + disk.filePath + ", not " + path.str() + " (another base path?)");
  if (disk.nvmeTcpServerNqn != nqn.str())
    refuse("it is exported as " + printableForMessage(disk.nvmeTcpServerNqn) + ", not " +
           nqn.str());
  const std::string printedPort = disk.nvmeTcpServerPort.value_or("");
  if (printedPort != port.str())
    refuse("it is exported on port " + printedPort + ", not " + port.str());
}

RdsDisk RdsBackend::closeExport(const RdsDisk& disk, const Call& call) {
  if (!settings_.fencing || !RdsClient::allowedHosts(disk).empty()) return disk;
  NqnList closed;
  closed.add(Nqn::parse(kFencedPlaceholderNqn, "fencing placeholder"));
  return client().ensureAllowedHosts(SlotName::parse(disk.slot, "slot"), closed, call, disk);
}

Volume RdsBackend::createVolume(const CreateVolumeRequest& req) {
  if (!req.sourceId.empty())
    throw Error(Code::kInvalidArgument,
                "createVolume makes empty volumes; a source id belongs in "
                "createVolumeFromSnapshot or cloneVolume");
  return createFrom(req, Source{});
}

Volume RdsBackend::createVolumeFromSnapshot(const CreateVolumeRequest& req) {
  SlotName source = SlotName::parse(req.sourceId, "source snapshot id");
  if (!isSnapshotSlot(source))
    throw Error(Code::kNotFound, "snapshot " + source.str() + " does not exist");
  return createFrom(req, Source{Source::Kind::kSnapshot, source});
}

Volume RdsBackend::cloneVolume(const CreateVolumeRequest& req) {
  SlotName source = SlotName::parse(req.sourceId, "source volume id");
  if (!isVolumeSlot(source, settings_.volumePrefix))
    throw Error(Code::kNotFound, "volume " + source.str() + " does not exist");
  return createFrom(req, Source{Source::Kind::kVolume, source});
}

Volume RdsBackend::createFrom(const CreateVolumeRequest& req, const Source& source) {
  // Everything is validated before the first command.
  const VolumePlacement placement = resolvePlacement(req.parameters, settings_);
  const SlotName slot = volumeSlotForName(req.name, settings_.volumePrefix);
  const std::optional<DiskSize> size = sizeToCreate(req, source.slot.has_value());
  const Nqn nqn = Nqn::forSlot(settings_.nqnPrefix, slot);
  const DiskPath path = volumeFilePath(placement.basePath, slot);
  req.call.checkpoint("create volume " + req.name);

  RdsClient& rds = client();
  // Until the slot is in the ledger: the orphan report never removes a disk being created.
  auto held = slotLocks_->lock(slot.str(), req.call);
  std::optional<RdsDisk> disk = rds.findDisk(slot, req.call);
  const bool existed = disk.has_value();
  if (existed) {
    forgetCopy(slot, req.call);  // a copy's outcome: the disk is listed
    checkCompatible(*disk, req, path, placement.nvmePort, nqn);
  } else if (!source.slot) {
    DiskSpec spec{slot, path, size, std::nullopt, true, placement.nvmePort, nqn};
    disk = rds.ensureDisk(spec, req.call, /*seenAbsent=*/true);
    host_.info("created RDS disk " + slot.str() + " (" + path.str() + ") for volume " + req.name);
  } else {
    disk = copyIntoNewDisk(
        req, source,
        DiskSpec{slot, path, std::nullopt, source.slot, true, placement.nvmePort, nqn});
  }
  // A copy starts at its source's size; grow it when more was asked (also on a retry).
  if (RdsClient::diskBytes(*disk) < req.requiredBytes) {
    if (source.slot) {
      disk = rds.ensureFileSizeAtLeast(slot, *size, req.call);
    } else if (existed) {
      throw Error(Code::kAlreadyExists,
                  "volume " + req.name + " already exists as RDS disk " + slot.str() + " with " +
                      std::to_string(RdsClient::diskBytes(*disk)) + " bytes, less than the " +
                      std::to_string(req.requiredBytes) + " required");
    }
  }
  disk = closeExport(*disk, req.call);
  ledger_->add(slot.str());
  Volume volume = toVolume(*disk, placement);
  if (volume.capacityBytes < req.requiredBytes)
    throw Error(Code::kInternal, "RDS disk " + slot.str() + " has " +
                                     std::to_string(volume.capacityBytes) +
                                     " bytes, less than the " + std::to_string(req.requiredBytes) +
                                     " asked for: RouterOS did not honour file-size");
  return volume;
}

RdsDisk RdsBackend::copyIntoNewDisk(const CreateVolumeRequest& req, const Source& source,
                                    const DiskSpec& spec) {
  RdsClient& rds = client();
  const SlotName& slot = spec.slot;
  bool copied;
  if (copies_->status(slot.str())) {
    copied = awaitCopy(slot, req.call, nullptr);  // a retry joins the running copy
  } else {
    auto origin = rds.findDisk(*source.slot, req.call);
    if (!origin)
      throw Error(Code::kNotFound,
                  std::string(source.kind == Source::Kind::kSnapshot ? "snapshot " : "volume ") +
                      source.slot->str() + " does not exist");
    int64_t originBytes = RdsClient::diskBytes(*origin);
    if (req.limitBytes > 0 && originBytes > req.limitBytes)
      throw Error(Code::kOutOfRange,
                  "source " + source.slot->str() + " has " + std::to_string(originBytes) +
                      " bytes, above limit_bytes " + std::to_string(req.limitBytes));
    refuseASecondCopy(slot, "volume " + req.name, req.call);
    CopyJobs::Work work = [this, spec, name = req.name](CopyJobs::Context& job) {
      client().addCopiedDisk(spec, job.call(), settings_.copyTimeout);
      ledger_->add(spec.slot.str());
      host_.info("created RDS disk " + spec.slot.str() + " (" + spec.filePath.str() +
                 ") for volume " + name + " from " + spec.copyFrom->str());
    };
    copied = awaitCopy(slot, req.call, &work);
  }
  if (!copied)
    // CSI: ABORTED is "an operation pending for the volume"; the provisioner retries.
    throw Error(Code::kAborted, "volume " + req.name + ": copy in progress from " +
                                    source.slot->str() + " into RDS disk " + slot.str() +
                                    " (/disk add copy-from has not answered yet); the copy "
                                    "goes on, and a retry waits for it");
  auto disk = rds.findDisk(slot, req.call);
  if (!disk)
    throw Error(Code::kInternal, "the copy into RDS disk " + slot.str() +
                                     " succeeded but RouterOS no longer lists the disk");
  return *disk;
}

void RdsBackend::refuseASecondCopy(const SlotName& slot, const std::string& what,
                                   const Call& call) {
  auto files = client().findFilesForSlot(slot, call);
  if (files.empty()) return;
  // `/disk add copy-from=` answers once the copy is done (3whiskeywhiskey/rds-csi treats it as
  // complete on return); what RouterOS does with a copy whose session closed first is not
  // documented. Its file without a disk is such a copy: running, or dropped. A second copy
  // would start from zero (for a snapshot into another file, its name carries the time) and
  // race the first for the slot.
  throw Error(Code::kAborted,
              what + ": the RDS holds " + printableForMessage(files.front().name) +
                  " but no disk " + slot.str() +
                  ": an earlier /disk add copy-from got no answer (the copy outlasted "
                  "command_timeout_seconds or the call's deadline) and RouterOS is still "
                  "copying or dropped the copy. No second copy is started; the disk is taken "
                  "once RouterOS lists it. If the file no longer grows (/file print) and no disk "
                  "appears, delete the claim or snapshot: that removes the file");
}

bool RdsBackend::awaitCopy(const SlotName& slot, const Call& call, const CopyJobs::Work* work,
                           std::optional<Snapshot> snapshot) {
  const std::string key = slot.str();
  std::optional<CopyJobStatus> done = copies_->collect(key);
  if (!done) {
    if (work != nullptr) copies_->start(key, *work, std::move(snapshot));
    // Half the remaining time, so the answer reaches the caller before its deadline.
    auto status =
        copies_->waitFor(key, call, std::chrono::steady_clock::now() + call.remaining() / 2);
    if (!status)
      throw Error(Code::kAborted, "the copy into RDS disk " + key +
                                      " ended and another call took its outcome; try again");
    if (status->state == CopyJobStatus::State::kRunning) return false;
    done = copies_->collect(key);
    if (!done)
      throw Error(Code::kAborted, "the copy into RDS disk " + key +
                                      " ended and another call took its outcome; try again");
  }
  if (!done->error) return true;
  // The copy failed (RouterOS refused it, or its answer did not come within
  // copy_timeout_seconds): what it left is not a copy to trust. Removed now, so the next call
  // starts a new copy instead of finding a file without a disk.
  std::string cleanup = "what it left was removed; a retry starts a new copy";
  try {
    removeDiskAndFile(slot, call);
  } catch (const Error& e) {
    cleanup = std::string("removing what it left failed (") + e.what() +
              "); deleting the claim or snapshot removes it";
  }
  host_.warn("the copy into RDS disk " + key + " failed: " + done->error->what() + "; " + cleanup);
  throw Error(done->error->code(),
              "the copy into RDS disk " + key + " failed: " + done->error->what() + "; " + cleanup);
}

void RdsBackend::forgetCopy(const SlotName& slot, const Call& call) {
  if (!copies_->status(slot.str())) return;
  copies_->waitFor(slot.str(), call, std::chrono::steady_clock::now() + call.remaining() / 2);
  copies_->collect(slot.str());
}

void RdsBackend::deleteSlot(const SlotName& slot, const Call& call) {
  client();  // FAILED_PRECONDITION on a node-only instance, which has no copy jobs
  auto held = slotLocks_->lock(slot.str(), call);
  // A copy still running would add its disk after the removal: wait for it to end first.
  auto block =
      copies_->settle(slot.str(), call, std::chrono::steady_clock::now() + call.remaining() / 2);
  removeDiskAndFile(slot, call);
}

void RdsBackend::removeDiskAndFile(const SlotName& slot, const Call& call) {
  RdsClient& rds = client();
  std::optional<std::string> filePath = rds.ensureDiskRemoved(slot, call);
  if (filePath && !filePath->empty()) {
    // The disk was printed with this file a moment ago: remove it without printing it first.
    rds.ensureFileRemoved(FileName::of(printedPath(*filePath, slot.str())), call,
                          /*seenPresent=*/true);
  } else {
    // The disk was gone already (an earlier attempt removed it): find its file by name.
    for (const auto& file : rds.findFilesForSlot(slot, call)) {
      rds.ensureFileRemoved(FileName::of(printedPath(file.name, slot.str())), call,
                            /*seenPresent=*/true);
    }
  }
}

void RdsBackend::deleteVolume(const VolumeIdRequest& req) {
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  // A snapshot's slot is never a volume: there is no such volume to delete.
  if (!isVolumeSlot(slot, settings_.volumePrefix)) return;
  deleteSlot(slot, req.call);
  ledger_->remove(slot.str());
  host_.info("deleted RDS disk " + slot.str());
}

Volume RdsBackend::getVolume(const VolumeIdRequest& req) {
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  if (!isVolumeSlot(slot, settings_.volumePrefix))
    throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
  auto disk = client().findDisk(slot, req.call);
  if (!disk) throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
  return toVolume(*disk, defaultPlacement(settings_));
}

Volume RdsBackend::findVolume(const FindVolumeRequest& req) {
  const VolumePlacement placement = resolvePlacement(req.parameters, settings_);
  const SlotName slot = volumeSlotForName(req.name, settings_.volumePrefix);
  auto disk = client().findDisk(slot, req.call);
  if (!disk)
    throw Error(Code::kNotFound, "no volume named " + req.name + " (slot " + slot.str() + ")");
  return toVolume(*disk, placement);
}

VolumePage RdsBackend::listVolumes(const ListRequest& req) {
  paging::checkKeyRequest(req, listingTokenRule());
  std::vector<RdsDisk> disks;
  for (auto& d : client().listDisks(settings_.volumePrefix, req.call))
    if (SlotName::isValid(d.slot) &&
        isVolumeSlot(SlotName::parse(d.slot, "slot"), settings_.volumePrefix))
      disks.push_back(std::move(d));
  auto page = paging::pageAfterKey(std::move(disks), req, listingTokenRule(),
                                   [](const RdsDisk& d) -> const std::string& { return d.slot; });
  VolumePage out{.nextToken = std::move(page.nextToken)};
  const VolumePlacement placement = defaultPlacement(settings_);
  for (const auto& d : page.items) out.volumes.push_back(toVolume(d, placement));
  return out;
}

ExpandResult RdsBackend::expandVolume(const ExpandRequest& req) {
  SlotName slot = volumeSlot(req.volumeId, "volume id");
  if (!isVolumeSlot(slot, settings_.volumePrefix))
    throw Error(Code::kNotFound, "volume " + slot.str() + " does not exist");
  DiskSize size = DiskSize::roundUp(req.requiredBytes);
  if (req.limitBytes > 0 && size.bytes() > req.limitBytes)
    throw Error(Code::kOutOfRange, std::to_string(req.requiredBytes) + " bytes round up to " +
                                       std::to_string(size.bytes()) +
                                       " (whole MiB), above limit_bytes " +
                                       std::to_string(req.limitBytes));
  RdsDisk disk = client().ensureFileSizeAtLeast(slot, size, req.call);
  return ExpandResult{RdsClient::diskBytes(disk), true};
}

Capacity RdsBackend::getCapacity(const CapacityRequest& req) {
  VolumePlacement placement = resolvePlacement(req.parameters, settings_);
  PoolSpace space = client().poolCapacity(placement.pool, req.call);
  Capacity c;
  // Only whole MiB can be allocated.
  c.availableBytes = space.freeBytes / DiskSize::kMiB * DiskSize::kMiB;
  c.minimumVolumeBytes = DiskSize::kMiB;
  return c;
}

}  // namespace polycsi::rds_nvme
