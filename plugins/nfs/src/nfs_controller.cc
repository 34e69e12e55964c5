// The controller half of the nfs backend: volumes as directories on an export.
#include <algorithm>
#include <ctime>

#include "nfs_backend.hpp"
#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

std::string parameter(const StringMap& parameters, const char* key) {
  auto it = parameters.find(key);
  return it == parameters.end() ? std::string() : it->second;
}

bool sameExport(const NfsExport& a, const NfsExport& b) {
  return a.server == b.server && a.share == b.share;
}

std::string describeExport(const NfsExport& where) { return where.server + ":" + where.share; }

// Throws ALREADY_EXISTS when the recorded volume cannot stand for the request.
void requireCompatible(const VolumeRecord& existing, const CreateVolumeRequest& req,
                       const NfsExport& where, const std::string& subDir,
                       const std::string& sourceSnapshotId, const std::string& sourceVolumeId) {
  auto conflict = [&](const std::string& why) {
    throw Error(Code::kAlreadyExists, "volume '" + printable(req.name) + "' already exists (id " +
                                          existing.id + ") and " + why);
  };
  if (existing.name != req.name)
    conflict("its id belongs to a different name, '" + printable(existing.name) +
             "' (hash collision)");
  if (!sameExport(existing.where, where) || existing.subDir != subDir)
    conflict("lives in " + describeExport(existing.where) + "/" + existing.subDir + ", not " +
             describeExport(where) + "/" + subDir);
  if (req.limitBytes > 0 && existing.capacityBytes > req.limitBytes)
    conflict("has " + std::to_string(existing.capacityBytes) + " bytes, more than the limit " +
             std::to_string(req.limitBytes));
  if (req.requiredBytes > existing.capacityBytes)
    conflict("has " + std::to_string(existing.capacityBytes) + " bytes, less than the required " +
             std::to_string(req.requiredBytes));
  if (existing.sourceSnapshotId != sourceSnapshotId || existing.sourceVolumeId != sourceVolumeId)
    conflict("was created from a different source (snapshot '" + existing.sourceSnapshotId +
             "', volume '" + existing.sourceVolumeId + "')");
}

// "archived-<subdir with / as ->-<UTC timestamp>", at the top of the export.
std::string archiveName(const std::string& subDir) {
  std::string flat = subDir;
  std::replace(flat.begin(), flat.end(), '/', '-');
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &utc);
  return "archived-" + flat + "-" + stamp;
}

}  // namespace

Volume NfsBackend::toVolume(const VolumeRecord& r) {
  Volume v;
  v.id = r.id;
  v.capacityBytes = r.capacityBytes;
  v.sourceSnapshotId = r.sourceSnapshotId;
  v.sourceVolumeId = r.sourceVolumeId;
  v.context[kContextServer] = r.where.server;
  v.context[kContextShare] = r.where.share;
  v.context[kContextSubDir] = r.subDir;
  return v;
}

VolumeRecord NfsBackend::requireVolume(VolumeRecords& records, const std::string& id) const {
  auto record = records.findVolume(id);
  if (!record || !record->complete)
    throw Error(Code::kNotFound, "volume '" + printable(id) + "' does not exist");
  return *record;
}

NfsBackend::Source NfsBackend::resolveSource(VolumeRecords& records, SourceKind kind,
                                             const std::string& id) const {
  Source source;
  source.kind = kind;
  source.id = id;
  if (kind == SourceKind::kSnapshot) {
    auto snap = records.findSnapshot(id);
    if (!snap || !snap->complete)
      throw Error(Code::kNotFound, "source snapshot '" + printable(id) + "' does not exist");
    source.where = snap->where;
    source.path = snap->path;
    source.sizeBytes = snap->sizeBytes;
  } else if (kind == SourceKind::kVolume) {
    auto vol = records.findVolume(id);
    if (!vol || !vol->complete)
      throw Error(Code::kNotFound, "source volume '" + printable(id) + "' does not exist");
    source.where = vol->where;
    source.path = vol->subDir;
    source.sizeBytes = vol->capacityBytes;
  }
  return source;
}

Volume NfsBackend::createVolume(const CreateVolumeRequest& req) {
  if (!req.sourceId.empty())
    throw Error(Code::kInvalidArgument,
                "createVolume makes empty volumes; a source id belongs in "
                "createVolumeFromSnapshot or cloneVolume");
  return createFrom(req, SourceKind::kNone);
}

Volume NfsBackend::createVolumeFromSnapshot(const CreateVolumeRequest& req) {
  if (req.sourceId.empty()) throw Error(Code::kInvalidArgument, "the source snapshot id is empty");
  return createFrom(req, SourceKind::kSnapshot);
}

Volume NfsBackend::cloneVolume(const CreateVolumeRequest& req) {
  if (req.sourceId.empty()) throw Error(Code::kInvalidArgument, "the source volume id is empty");
  return createFrom(req, SourceKind::kVolume);
}

Volume NfsBackend::createFrom(const CreateVolumeRequest& req, SourceKind kind) {
  req.call.checkpoint("creating volume '" + printable(req.name) + "'");
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the volume name is empty");
  if (req.volumeMode != VolumeMode::kFilesystem)
    throw Error(Code::kInvalidArgument, "the nfs plugin offers filesystem volumes only");
  if (req.requiredBytes < 0 || req.limitBytes < 0)
    throw Error(Code::kInvalidArgument, "required_bytes and limit_bytes must not be negative");
  // Everything the request decides is checked before any server is touched, so a bad request
  // creates nothing.
  VolumeOptions options = resolveVolumeOptions(req.parameters, settings_);
  std::string subDir = expandSubDir(
      options.subDirTemplate,
      SubDirVariables{req.name, parameter(req.parameters, "csi.storage.k8s.io/pvc/name"),
                      parameter(req.parameters, "csi.storage.k8s.io/pvc/namespace"),
                      parameter(req.parameters, "csi.storage.k8s.io/pv/name")});

  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  Source source;
  if (kind != SourceKind::kNone) {
    source = resolveSource(records, kind, req.sourceId);
    if (!sameExport(source.where, options.where))
      throw Error(Code::kInvalidArgument,
                  "the source " + req.sourceId + " lives on " + describeExport(source.where) +
                      " but the new volume would live on " + describeExport(options.where) +
                      "; copies stay on one export (use the source's StorageClass)");
  }
  std::string snapshotId = kind == SourceKind::kSnapshot ? req.sourceId : "";
  std::string volumeId = kind == SourceKind::kVolume ? req.sourceId : "";

  VolumeRecord record;
  record.id = deriveId(RecordKind::kVolume, req.name);
  if (auto existing = records.findVolume(record.id)) {
    requireCompatible(*existing, req, options.where, subDir, snapshotId, volumeId);
    if (existing->complete) return toVolume(*existing);
    if (kind != SourceKind::kNone) return copyInto(records, *existing, source, req.call);
    materialize(records, *home, *existing, req.call);
    return toVolume(*existing);
  }
  record.name = req.name;
  record.where = options.where;
  record.subDir = subDir;
  record.capacityBytes = std::max(req.requiredBytes, source.sizeBytes);
  if (req.limitBytes > 0 && record.capacityBytes > req.limitBytes)
    throw Error(Code::kOutOfRange, "the source holds " + std::to_string(source.sizeBytes) +
                                       " bytes, more than limit_bytes " +
                                       std::to_string(req.limitBytes));
  record.mountPermissions = options.mountPermissions;
  record.onDelete = options.onDelete;
  record.sourceSnapshotId = snapshotId;
  record.sourceVolumeId = volumeId;
  record.stagedCopy = kind != SourceKind::kNone;
  record.createdUnixNs = nowUnixNs();

  // The directory must not exist yet: another volume's (or someone's) data is never adopted.
  auto volumeSession =
      sameExport(record.where, *settings_.home) ? nullptr : connect(record.where, req.call);
  NfsSession& target = volumeSession ? *volumeSession : *home;
  if (target.stat(subDir))
    throw Error(Code::kAlreadyExists,
                "cannot create volume '" + printable(req.name) +
                    "': " + describeExport(record.where) + "/" + subDir +
                    " already exists and belongs to no volume of this backend (another "
                    "StorageClass's subDir template may expand to the same path)");
  records.saveVolume(record);
  if (kind != SourceKind::kNone) return copyInto(records, record, source, req.call);
  materialize(records, *home, record, req.call);
  host_.info("created volume " + record.id + " in " + describeExport(record.where) + "/" + subDir);
  return toVolume(record);
}

void NfsBackend::materialize(VolumeRecords& records, NfsSession& home, VolumeRecord& record,
                             const Call& call) const {
  auto volumeSession =
      sameExport(record.where, home.target().where) ? nullptr : connect(record.where, call);
  NfsSession& target = volumeSession ? *volumeSession : home;
  const std::string& dir = record.subDir;
  size_t slash = dir.rfind('/');
  if (slash != std::string::npos) target.makeDirectories(dir.substr(0, slash), 0755);
  // An existing directory was left by an interrupted attempt of this very record (the check
  // before the record was written saw none): an empty volume's directory is kept as it is.
  target.makeDirectory(dir, record.mountPermissions);
  ensureMode(target, dir, record.mountPermissions);
  record.complete = true;
  records.saveVolume(record);
}

void NfsBackend::deleteVolume(const VolumeIdRequest& req) {
  req.call.checkpoint("deleting volume " + printable(req.volumeId));
  if (!isRecordId(req.volumeId)) return;  // never one of ours
  // A copy into the volume stops first, and none starts again until it is gone.
  CopyJobs::Block noCopy = copies_.stop("volume/" + req.volumeId);
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  auto record = records.findVolume(req.volumeId);
  if (!record) return;
  auto volumeSession =
      sameExport(record->where, *settings_.home) ? nullptr : connect(record->where, req.call);
  NfsSession& target = volumeSession ? *volumeSession : *home;
  std::string where = describeExport(record->where) + "/" + record->subDir;
  removeStaging(target, record->id, req.call);
  switch (record->onDelete) {
    case OnDelete::kDelete:
      if (target.removeTree(record->subDir, req.call)) host_.info("removed " + where);
      break;
    case OnDelete::kRetain:
      host_.info("kept " + where + " (onDelete: retain)");
      break;
    case OnDelete::kArchive:
      if (target.stat(record->subDir)) {
        std::string archived = archiveName(record->subDir);
        target.rename(record->subDir, archived);
        host_.info("archived " + where + " as " + describeExport(record->where) + "/" + archived);
      }
      break;
  }
  records.removeVolume(record->id);
  host_.info("deleted volume " + record->id);
}

Volume NfsBackend::getVolume(const VolumeIdRequest& req) {
  req.call.checkpoint("looking up volume " + printable(req.volumeId));
  if (!isRecordId(req.volumeId))
    throw Error(Code::kNotFound, "volume '" + printable(req.volumeId) + "' does not exist");
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  return toVolume(requireVolume(records, req.volumeId));
}

Volume NfsBackend::findVolume(const FindVolumeRequest& req) {
  req.call.checkpoint("looking for volume '" + printable(req.name) + "'");
  if (req.name.empty()) throw Error(Code::kInvalidArgument, "the volume name is empty");
  if (!settings_.home)
    throw Error(Code::kFailedPrecondition,
                "this nfs instance has no 'server'/'share' settings: it is not a controller");
  // Not connectHome(): that makes the record directories, and a look-up changes nothing.
  auto home = connect(*settings_.home, req.call);
  VolumeRecords records(*home);
  auto record = records.findVolume(deriveId(RecordKind::kVolume, req.name));
  // A record of another name under the same id (a hash collision) is not this name's volume.
  if (!record || record->name != req.name)
    throw Error(Code::kNotFound, "no volume named '" + printable(req.name) + "' is recorded on " +
                                     describeExport(*settings_.home));
  return toVolume(*record);
}

VolumePage NfsBackend::listVolumes(const ListRequest& req) {
  req.call.checkpoint("listing volumes");
  auto home = connectHome(req.call);
  VolumeRecords records(*home);
  std::vector<std::string> problems;
  std::vector<VolumeRecord> complete;
  for (auto& r : records.allVolumes(req.call, problems))
    if (r.complete) complete.push_back(std::move(r));
  for (const auto& p : problems) host_.warn("listing volumes: " + p);
  auto page =
      paging::pageAfterKey(std::move(complete), req, listingTokenRule(),
                           [](const VolumeRecord& r) -> const std::string& { return r.id; });
  VolumePage out{.nextToken = std::move(page.nextToken)};
  for (const auto& r : page.items) out.volumes.push_back(toVolume(r));
  return out;
}

Capacity NfsBackend::getCapacity(const CapacityRequest& req) {
  req.call.checkpoint("reading capacity");
  VolumeOptions options = resolveVolumeOptions(req.parameters, settings_);
  auto session = connect(options.where, req.call);
  Capacity c;
  c.availableBytes = session->usage().availableBytes;
  return c;
}

}  // namespace polycsi::nfs
