#include "volume_records.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

constexpr size_t kMaxNameIdBytes = 64;
constexpr size_t kMaxRecordBytes = 64 * 1024;
constexpr char kSuffix[] = ".json";

bool isIdCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// FNV-1a, twice with different offsets: 128 bits, plenty to tell CSI names apart.
std::string hashHex(const std::string& text) {
  auto fnv = [&](uint64_t hash) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
    return hash;
  };
  char out[33];
  std::snprintf(out, sizeof(out), "%016llx%016llx",
                static_cast<unsigned long long>(fnv(14695981039346656037ull)),
                static_cast<unsigned long long>(fnv(0x6c62272e07bb0142ull)));
  return out;
}

std::string recordPath(RecordKind kind, const std::string& id) {
  return recordDirectory(kind) + "/" + id + kSuffix;
}

nlohmann::json exportJson(const NfsExport& where) {
  return {{"server", where.server}, {"share", where.share}};
}

NfsExport exportFrom(const nlohmann::json& j) {
  return NfsExport{j.at("server").get<std::string>(), j.at("share").get<std::string>()};
}

nlohmann::json toJson(const VolumeRecord& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"export", exportJson(r.where)},
          {"subDir", r.subDir},
          {"capacityBytes", r.capacityBytes},
          {"mountPermissions", r.mountPermissions},
          {"onDelete", onDeleteName(r.onDelete)},
          {"sourceSnapshotId", r.sourceSnapshotId},
          {"sourceVolumeId", r.sourceVolumeId},
          {"complete", r.complete},
          {"stagedCopy", r.stagedCopy},
          {"createdUnixNs", r.createdUnixNs}};
}

nlohmann::json toJson(const SnapshotRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"name", r.name},
                      {"sourceVolumeId", r.sourceVolumeId},
                      {"export", exportJson(r.where)},
                      {"path", r.path},
                      {"sizeBytes", r.sizeBytes},
                      {"complete", r.complete},
                      {"stagedCopy", r.stagedCopy},
                      {"createdUnixNs", r.createdUnixNs}};
  if (!r.groupSnapshotId.empty()) j["groupSnapshotId"] = r.groupSnapshotId;
  return j;
}

VolumeRecord volumeFrom(const nlohmann::json& j) {
  VolumeRecord r;
  r.id = j.at("id").get<std::string>();
  r.name = j.at("name").get<std::string>();
  r.where = exportFrom(j.at("export"));
  r.subDir = j.at("subDir").get<std::string>();
  r.capacityBytes = j.at("capacityBytes").get<int64_t>();
  r.mountPermissions = j.at("mountPermissions").get<int>();
  r.onDelete = parseOnDelete(j.at("onDelete").get<std::string>(), "record field onDelete");
  r.sourceSnapshotId = j.at("sourceSnapshotId").get<std::string>();
  r.sourceVolumeId = j.at("sourceVolumeId").get<std::string>();
  r.complete = j.at("complete").get<bool>();
  r.stagedCopy = j.value("stagedCopy", false);  // absent in records of earlier versions
  r.createdUnixNs = j.at("createdUnixNs").get<int64_t>();
  return r;
}

SnapshotRecord snapshotFrom(const nlohmann::json& j) {
  SnapshotRecord r;
  r.id = j.at("id").get<std::string>();
  r.name = j.at("name").get<std::string>();
  r.sourceVolumeId = j.at("sourceVolumeId").get<std::string>();
  r.where = exportFrom(j.at("export"));
  r.path = j.at("path").get<std::string>();
  r.sizeBytes = j.at("sizeBytes").get<int64_t>();
  r.complete = j.at("complete").get<bool>();
  r.stagedCopy = j.value("stagedCopy", false);  // absent in records of earlier versions
  r.createdUnixNs = j.at("createdUnixNs").get<int64_t>();
  // Absent for snapshots of their own and in records of earlier versions.
  r.groupSnapshotId = j.value("groupSnapshotId", std::string());
  return r;
}

// Parses a record file; a record that does not parse is corrupt, which the caller must see.
template <typename Record, typename Parse>
Record parseRecord(const std::string& text, const std::string& where, Parse parse) {
  try {
    return parse(nlohmann::json::parse(text));
  } catch (const nlohmann::json::exception& e) {
    throw Error(Code::kInternal, "record " + where + " is corrupt: " + e.what());
  }
}

}  // namespace

int64_t nowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string deriveId(RecordKind kind, const std::string& name) {
  bool usable = !name.empty() && name.size() <= kMaxNameIdBytes && name.front() != '-' &&
                name.rfind("h-", 0) != 0 && name.rfind("s-", 0) != 0 &&
                std::all_of(name.begin(), name.end(), isIdCharacter);
  std::string id = usable ? name : "h-" + hashHex(name);
  // Snapshots and volumes live in different directories, but their ids also differ so that a
  // snapshot id is never mistaken for a volume id.
  return kind == RecordKind::kSnapshot ? "s-" + id : id;
}

bool isRecordId(const std::string& id) {
  return !id.empty() && id.size() <= kMaxNameIdBytes + 4 && id.front() != '-' &&
         std::all_of(id.begin(), id.end(), isIdCharacter);
}

paging::TokenRule listingTokenRule() {
  return {isRecordId, [](const std::string& token) {
            return "starting token '" + printable(token) +
                   "' is not one this backend issued; list from the start";
          }};
}

std::string recordDirectory(RecordKind kind) {
  return kind == RecordKind::kVolume ? ".polycsi/volumes" : ".polycsi/snapshots";
}

void VolumeRecords::prepare() {
  home_.makeDirectories(recordDirectory(RecordKind::kVolume), 0700);
  home_.makeDirectories(recordDirectory(RecordKind::kSnapshot), 0700);
}

std::optional<VolumeRecord> VolumeRecords::findVolume(const std::string& id) {
  if (!isRecordId(id)) return std::nullopt;
  std::string path = recordPath(RecordKind::kVolume, id);
  try {
    return parseRecord<VolumeRecord>(home_.readFile(path, kMaxRecordBytes), path, volumeFrom);
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound) return std::nullopt;
    throw;
  }
}

std::optional<SnapshotRecord> VolumeRecords::findSnapshot(const std::string& id) {
  if (!isRecordId(id)) return std::nullopt;
  std::string path = recordPath(RecordKind::kSnapshot, id);
  try {
    return parseRecord<SnapshotRecord>(home_.readFile(path, kMaxRecordBytes), path, snapshotFrom);
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound) return std::nullopt;
    throw;
  }
}

void VolumeRecords::saveVolume(const VolumeRecord& record) {
  home_.writeFileAtomically(recordPath(RecordKind::kVolume, record.id), toJson(record).dump(2));
}

void VolumeRecords::saveSnapshot(const SnapshotRecord& record) {
  home_.writeFileAtomically(recordPath(RecordKind::kSnapshot, record.id), toJson(record).dump(2));
}

void VolumeRecords::removeVolume(const std::string& id) {
  home_.removeFile(recordPath(RecordKind::kVolume, id));
}

void VolumeRecords::removeSnapshot(const std::string& id) {
  home_.removeFile(recordPath(RecordKind::kSnapshot, id));
}

std::vector<std::string> VolumeRecords::recordIds(RecordKind kind) {
  std::vector<std::string> ids;
  const std::string suffix = kSuffix;
  for (const auto& entry : home_.list(recordDirectory(kind))) {
    const std::string& n = entry.name;
    if (entry.info.type != EntryType::kFile || n.size() <= suffix.size() ||
        n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;  // temporary files of writes in flight
    std::string id = n.substr(0, n.size() - suffix.size());
    if (isRecordId(id)) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<VolumeRecord> VolumeRecords::allVolumes(const Call& call,
                                                    std::vector<std::string>& problems) {
  std::vector<VolumeRecord> out;
  for (const auto& id : recordIds(RecordKind::kVolume)) {
    call.checkpoint("reading volume records");
    try {
      if (auto r = findVolume(id)) out.push_back(*r);
    } catch (const Error& e) {
      if (e.code() != Code::kInternal) throw;
      problems.push_back(e.what());
    }
  }
  return out;
}

std::vector<SnapshotRecord> VolumeRecords::allSnapshots(const Call& call,
                                                        std::vector<std::string>& problems) {
  std::vector<SnapshotRecord> out;
  for (const auto& id : recordIds(RecordKind::kSnapshot)) {
    call.checkpoint("reading snapshot records");
    try {
      if (auto r = findSnapshot(id)) out.push_back(*r);
    } catch (const Error& e) {
      if (e.code() != Code::kInternal) throw;
      problems.push_back(e.what());
    }
  }
  return out;
}

}  // namespace polycsi::nfs
