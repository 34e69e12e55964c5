// The controller half of the sample backend: volumes and snapshots as files.
#include <fcntl.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "file_io.hpp"
#include "local_ids.hpp"
#include "loop_device.hpp"
#include "polycsi/paging.hpp"
#include "sample_backend.hpp"
#include "sparse_copy.hpp"
#include "volume_sizing.hpp"

namespace polycsi::sample {
namespace {

const char* modeName(VolumeMode mode) { return volumeModeName(mode); }

// Throws ALREADY_EXISTS when the existing volume cannot stand for the request.
void requireCompatible(const VolumeRecord& existing, const CreateVolumeRequest& req,
                       const std::string& sourceSnapshotId, const std::string& sourceVolumeId) {
  auto conflict = [&](const std::string& why) {
    throw Error(Code::kAlreadyExists,
                "volume '" + req.name + "' already exists (id " + existing.id + ") and " + why);
  };
  if (existing.name != req.name)
    conflict("its id belongs to a different name, '" + existing.name + "' (hash collision)");
  if (req.requiredBytes > existing.capacityBytes)
    conflict("has " + std::to_string(existing.capacityBytes) + " bytes, less than the required " +
             std::to_string(req.requiredBytes));
  if (req.limitBytes > 0 && existing.capacityBytes > req.limitBytes)
    conflict("has " + std::to_string(existing.capacityBytes) + " bytes, more than the limit " +
             std::to_string(req.limitBytes));
  if (existing.volumeMode != req.volumeMode)
    conflict(std::string("has volume mode ") + modeName(existing.volumeMode) + ", not " +
             modeName(req.volumeMode));
  if (existing.sourceSnapshotId != sourceSnapshotId || existing.sourceVolumeId != sourceVolumeId)
    conflict("was created from a different source (snapshot '" + existing.sourceSnapshotId +
             "', volume '" + existing.sourceVolumeId + "')");
}

// Tokens are the ids of `kind` this backend issues.
paging::TokenRule tokenRule(IdKind kind) {
  return {[kind](const std::string& token) { return hasLocalIdShape(kind, token); },
          [](const std::string& token) {
            return "starting token '" + token +
                   "' is not one this backend issued; list from the start";
          }};
}

}  // namespace

Volume SampleBackend::toVolume(const VolumeRecord& r) {
  Volume v;
  v.id = r.id;
  v.capacityBytes = r.capacityBytes;
  v.sourceSnapshotId = r.sourceSnapshotId;
  v.sourceVolumeId = r.sourceVolumeId;
  if (!r.tier.empty()) v.context[kTierParameter] = r.tier;
  return v;
}

Snapshot SampleBackend::toSnapshot(const SnapshotRecord& r) {
  Snapshot s;
  s.id = r.id;
  s.sourceVolumeId = r.sourceVolumeId;
  s.sizeBytes = r.sizeBytes;
  s.creationTimeUnixNs = r.createdUnixNs;
  s.readyToUse = true;  // the copy is complete before the snapshot exists
  s.groupSnapshotId = r.groupSnapshotId;
  return s;
}

VolumeRecord SampleBackend::requireVolume(const std::string& id) const {
  requireLegalLocalId(id, "volume id");
  std::optional<VolumeRecord> record;
  if (hasLocalIdShape(IdKind::kVolume, id)) record = files_.findVolume(id);
  if (!record) throw Error(Code::kNotFound, "volume '" + id + "' does not exist");
  return *record;
}

int64_t SampleBackend::unreservedBytes() const {
  if (settings_.capacityBytes) {
    // Runs under the reservation lock, where giving up halfway would help nobody: the listing
    // gets its own (default) deadline rather than the caller's.
    int64_t allocated = 0;
    Call listing;
    for (const auto& v : files_.allVolumes(listing)) allocated += v.capacityBytes;
    for (const auto& s : files_.allSnapshots(listing)) allocated += s.sizeBytes;
    return *settings_.capacityBytes - allocated;
  }
  struct statvfs st {};
  if (::statvfs(files_.root().c_str(), &st) != 0)
    throw errnoError(Code::kInternal, "cannot read the free space of " + files_.root().string(),
                     errno);
  return static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
}

SampleBackend::Source SampleBackend::resolveSource(SourceKind kind, const std::string& id) const {
  Source source;
  source.kind = kind;
  source.id = id;
  if (kind == SourceKind::kSnapshot) {
    requireLegalLocalId(id, "source snapshot id");
    std::optional<SnapshotRecord> snap;
    if (hasLocalIdShape(IdKind::kSnapshot, id)) snap = files_.findSnapshot(id);
    if (!snap) throw Error(Code::kNotFound, "source snapshot '" + id + "' does not exist");
    source.image = files_.snapshotImage(id);
    source.sizeBytes = snap->sizeBytes;
  } else if (kind == SourceKind::kVolume) {
    requireLegalLocalId(id, "source volume id");
    std::optional<VolumeRecord> vol;
    if (hasLocalIdShape(IdKind::kVolume, id)) vol = files_.findVolume(id);
    if (!vol) throw Error(Code::kNotFound, "source volume '" + id + "' does not exist");
    source.image = files_.volumeImage(id);
    source.sizeBytes = vol->capacityBytes;
  }
  return source;
}

Volume SampleBackend::createVolume(const CreateVolumeRequest& req) {
  injectCreateDelay(req.call);
  if (!req.sourceId.empty())
    throw Error(Code::kInvalidArgument,
                "createVolume makes empty volumes; a source id belongs in "
                "createVolumeFromSnapshot or cloneVolume");
  return createFrom(req, Source{});
}

void SampleBackend::injectCreateDelay(const Call& call) const {
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(settings_.createDelayMs);
  while (std::chrono::steady_clock::now() < until) {
    call.checkpoint("create (delayed by create_delay_ms)");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Volume SampleBackend::createVolumeFromSnapshot(const CreateVolumeRequest& req) {
  if (req.sourceId.empty()) throw Error(Code::kInvalidArgument, "the source snapshot id is empty");
  return createFrom(req, resolveSource(SourceKind::kSnapshot, req.sourceId));
}

Volume SampleBackend::cloneVolume(const CreateVolumeRequest& req) {
  if (req.sourceId.empty()) throw Error(Code::kInvalidArgument, "the source volume id is empty");
  return createFrom(req, resolveSource(SourceKind::kVolume, req.sourceId));
}

Volume SampleBackend::createFrom(const CreateVolumeRequest& req, const Source& source) {
  req.call.checkpoint("creating volume '" + req.name + "'");
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the volume name is empty");
  std::string snapshotId = source.kind == SourceKind::kSnapshot ? source.id : "";
  std::string volumeId = source.kind == SourceKind::kVolume ? source.id : "";

  VolumeRecord record;
  record.id = deriveLocalId(IdKind::kVolume, req.name);
  if (auto existing = files_.findVolume(record.id)) {
    requireCompatible(*existing, req, snapshotId, volumeId);
    return toVolume(*existing);
  }
  record.name = req.name;
  record.capacityBytes = chooseVolumeSize(req.requiredBytes, req.limitBytes, source.sizeBytes,
                                          settings_.maxVolumeBytes);
  record.volumeMode = req.volumeMode;
  record.sourceSnapshotId = snapshotId;
  record.sourceVolumeId = volumeId;
  record.createdUnixNs = nowUnixNs();
  record.tier = tierOf(req.parameters);

  auto hold = reservations_.reserve(
      record.capacityBytes, [this] { return unreservedBytes(); }, "volume '" + req.name + "'");
  VolumeFiles::ImageFiller fill = [](int) {};
  if (source.kind != SourceKind::kNone) {
    fill = [&](int fd) {
      UniqueFd src = openFile(source.image, O_RDONLY);
      copySparseFile(src.get(), fd, source.sizeBytes, req.call);
    };
  }
  files_.createVolume(record, fill, req.call, [&](const auto& rename) { hold.commit(rename); });
  host_.info("created volume " + record.id + " (" + std::to_string(record.capacityBytes) +
             " bytes) for '" + req.name + "'" +
             (source.kind == SourceKind::kNone ? std::string() : " from " + source.id));
  return toVolume(record);
}

Volume SampleBackend::findVolume(const FindVolumeRequest& req) {
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the volume name is empty");
  const std::string id = deriveLocalId(IdKind::kVolume, req.name);
  auto existing = files_.findVolume(id);
  if (!existing) throw Error(Code::kNotFound, "no volume named '" + req.name + "'");
  return toVolume(*existing);
}

void SampleBackend::deleteVolume(const VolumeIdRequest& req) {
  req.call.checkpoint("deleting volume " + req.volumeId);
  requireLegalLocalId(req.volumeId, "volume id");
  if (!hasLocalIdShape(IdKind::kVolume, req.volumeId)) return;  // never one of ours
  // On a machine that is also a node, refuse to pull the file from under a live loop device.
  for (const auto& loop : findLoopDevices(files_.volumeImage(req.volumeId))) {
    if (!loop.backingFileDeleted)
      throw Error(Code::kFailedPrecondition, "volume " + req.volumeId +
                                                 " is still attached on this machine as " +
                                                 loop.devicePath + "; detach it first");
  }
  if (files_.removeVolume(req.volumeId)) host_.info("deleted volume " + req.volumeId);
}

Volume SampleBackend::getVolume(const VolumeIdRequest& req) {
  req.call.checkpoint("looking up volume " + req.volumeId);
  return toVolume(requireVolume(req.volumeId));
}

VolumePage SampleBackend::listVolumes(const ListRequest& req) {
  req.call.checkpoint("listing volumes");
  // Pages over the sorted ids and reads only the page's records: reading every volume's
  // metadata for each page made paging through 10,000 volumes 1,000 at a time cost 100,000
  // file reads (bench/README.md).
  auto page = paging::pageAfterKey(files_.volumeIds(req.call), req, tokenRule(IdKind::kVolume),
                                   [](const std::string& id) -> const std::string& { return id; });
  VolumePage out{.nextToken = std::move(page.nextToken)};
  for (const auto& id : page.items) {
    // Deleted since the directory scan: simply not there any more.
    if (auto record = files_.findVolume(id)) out.volumes.push_back(toVolume(*record));
  }
  return out;
}

ExpandResult SampleBackend::expandVolume(const ExpandRequest& req) {
  req.call.checkpoint("expanding volume " + req.volumeId);
  VolumeRecord record = requireVolume(req.volumeId);
  if (req.requiredBytes < 0 || req.limitBytes < 0)
    throw Error(Code::kInvalidArgument, "required_bytes and limit_bytes must not be negative");
  if (req.limitBytes > 0 && req.requiredBytes > req.limitBytes)
    throw Error(Code::kOutOfRange, "required_bytes " + std::to_string(req.requiredBytes) +
                                       " exceeds limit_bytes " + std::to_string(req.limitBytes));
  int64_t wanted = roundUpToUnit(req.requiredBytes);
  if (wanted <= record.capacityBytes) return ExpandResult{record.capacityBytes, true};
  if (req.limitBytes > 0 && wanted > req.limitBytes)
    throw Error(Code::kOutOfRange, "whole MiB size " + std::to_string(wanted) +
                                       " exceeds limit_bytes " + std::to_string(req.limitBytes));
  if (settings_.maxVolumeBytes && wanted > *settings_.maxVolumeBytes)
    throw Error(Code::kOutOfRange, "volume " + record.id + " cannot grow to " +
                                       std::to_string(wanted) +
                                       " bytes, more than this backend's max_volume_bytes " +
                                       std::to_string(*settings_.maxVolumeBytes));
  auto hold = reservations_.reserve(
      wanted - record.capacityBytes, [this] { return unreservedBytes(); },
      "growing volume " + record.id);
  record.capacityBytes = wanted;
  files_.growVolume(record, [&](const auto& rename) { hold.commit(rename); });
  host_.info("expanded volume " + record.id + " to " + std::to_string(wanted) + " bytes");
  return ExpandResult{record.capacityBytes, true};
}

void SampleBackend::modifyVolume(const ModifyVolumeRequest& req) {
  req.call.checkpoint("modifying volume " + req.volumeId);
  VolumeRecord record = requireVolume(req.volumeId);
  const std::string tier = tierOf(req.mutableParameters);
  if (tier.empty() || tier == record.tier) return;
  record.tier = tier;
  files_.updateVolumeRecord(record);
  host_.info("volume " + record.id + " is now tier " + tier);
}

Capacity SampleBackend::getCapacity(const CapacityRequest& req) {
  req.call.checkpoint("reading capacity");
  Capacity c;
  c.availableBytes = std::max<int64_t>(0, unreservedBytes() - reservations_.held());
  c.maximumVolumeBytes = settings_.maxVolumeBytes.value_or(0);
  c.minimumVolumeBytes = kAllocationUnitBytes;
  return c;
}

Snapshot SampleBackend::createSnapshot(const CreateSnapshotRequest& req) {
  req.call.checkpoint("creating snapshot '" + req.name + "'");
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the snapshot name is empty");
  SnapshotRecord record;
  record.id = deriveLocalId(IdKind::kSnapshot, req.name);
  if (auto existing = files_.findSnapshot(record.id)) {
    if (existing->name != req.name)
      throw Error(Code::kAlreadyExists, "snapshot id " + record.id + " belongs to '" +
                                            existing->name + "', not '" + req.name +
                                            "' (hash collision)");
    if (existing->sourceVolumeId != req.sourceVolumeId)
      throw Error(Code::kAlreadyExists, "snapshot '" + req.name + "' already exists for volume '" +
                                            existing->sourceVolumeId + "', not '" +
                                            req.sourceVolumeId + "'");
    if (existing->groupSnapshotId != req.groupSnapshotId)
      throw Error(
          Code::kAlreadyExists,
          "snapshot '" + req.name + "' already exists " +
              (existing->groupSnapshotId.empty() ? std::string("on its own")
                                                 : "in group '" + existing->groupSnapshotId + "'") +
              ", not " +
              (req.groupSnapshotId.empty() ? std::string("on its own")
                                           : "in group '" + req.groupSnapshotId + "'"));
    return toSnapshot(*existing);
  }
  Source source = resolveSource(SourceKind::kVolume, req.sourceVolumeId);
  record.name = req.name;
  record.sourceVolumeId = req.sourceVolumeId;
  record.groupSnapshotId = req.groupSnapshotId;
  record.sizeBytes = source.sizeBytes;
  record.createdUnixNs = nowUnixNs();
  auto hold = reservations_.reserve(
      record.sizeBytes, [this] { return unreservedBytes(); }, "snapshot '" + req.name + "'");
  files_.createSnapshot(
      record,
      [&](int fd) {
        UniqueFd src = openFile(source.image, O_RDONLY);
        copySparseFile(src.get(), fd, source.sizeBytes, req.call);
      },
      req.call, [&](const auto& rename) { hold.commit(rename); });
  host_.info("created snapshot " + record.id + " of volume " + record.sourceVolumeId);
  return toSnapshot(record);
}

void SampleBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  req.call.checkpoint("deleting snapshot " + req.snapshotId);
  requireLegalLocalId(req.snapshotId, "snapshot id");
  if (!hasLocalIdShape(IdKind::kSnapshot, req.snapshotId)) return;  // never one of ours
  if (files_.removeSnapshot(req.snapshotId)) host_.info("deleted snapshot " + req.snapshotId);
}

SnapshotPage SampleBackend::listSnapshots(const ListRequest& req) {
  req.call.checkpoint("listing snapshots");
  std::vector<SnapshotRecord> matching;
  if (!req.snapshotId.empty()) {
    // A filter naming something this backend cannot have matches nothing.
    if (isLegalLocalId(req.snapshotId) && hasLocalIdShape(IdKind::kSnapshot, req.snapshotId))
      if (auto s = files_.findSnapshot(req.snapshotId)) matching.push_back(*s);
  } else {
    matching = files_.allSnapshots(req.call);
  }
  if (!req.sourceVolumeId.empty())
    std::erase_if(matching,
                  [&](const SnapshotRecord& s) { return s.sourceVolumeId != req.sourceVolumeId; });
  if (!req.groupSnapshotId.empty())
    std::erase_if(matching, [&](const SnapshotRecord& s) {
      return s.groupSnapshotId != req.groupSnapshotId;
    });
  auto page =
      paging::pageAfterKey(std::move(matching), req, tokenRule(IdKind::kSnapshot),
                           [](const SnapshotRecord& r) -> const std::string& { return r.id; });
  SnapshotPage out{.nextToken = std::move(page.nextToken)};
  for (const auto& r : page.items) out.snapshots.push_back(toSnapshot(r));
  return out;
}

}  // namespace polycsi::sample
