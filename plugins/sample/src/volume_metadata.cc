#include "volume_metadata.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

namespace polycsi::sample {
namespace {

using nlohmann::json;

const char* modeText(VolumeMode mode) {
  return mode == VolumeMode::kBlock ? "block" : "filesystem";
}

json parseObject(const std::string& text, const std::string& origin) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    throw Error(Code::kInternal, "metadata file " + origin + " is not a JSON object");
  return doc;
}

template <typename T>
T field(const json& doc, const char* key, const std::string& origin) {
  auto it = doc.find(key);
  if (it == doc.end())
    throw Error(Code::kInternal,
                "metadata file " + origin + " lacks the field '" + std::string(key) + "'");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Error(Code::kInternal, "metadata file " + origin + " has a field '" + std::string(key) +
                                     "' of the wrong type");
  }
}

}  // namespace

std::string toJson(const VolumeRecord& r) {
  json doc = {{"id", r.id},
              {"name", r.name},
              {"capacity_bytes", r.capacityBytes},
              {"volume_mode", modeText(r.volumeMode)},
              {"source_snapshot_id", r.sourceSnapshotId},
              {"source_volume_id", r.sourceVolumeId},
              {"created_unix_ns", r.createdUnixNs}};
  if (!r.tier.empty()) doc["tier"] = r.tier;
  return doc.dump(2) + "\n";
}

std::string toJson(const SnapshotRecord& r) {
  json doc = {{"id", r.id},
              {"name", r.name},
              {"source_volume_id", r.sourceVolumeId},
              {"size_bytes", r.sizeBytes},
              {"created_unix_ns", r.createdUnixNs}};
  if (!r.groupSnapshotId.empty()) doc["group_snapshot_id"] = r.groupSnapshotId;
  return doc.dump(2) + "\n";
}

VolumeRecord parseVolumeRecord(const std::string& text, const std::string& origin) {
  json doc = parseObject(text, origin);
  VolumeRecord r;
  r.id = field<std::string>(doc, "id", origin);
  r.name = field<std::string>(doc, "name", origin);
  r.capacityBytes = field<int64_t>(doc, "capacity_bytes", origin);
  auto mode = field<std::string>(doc, "volume_mode", origin);
  if (mode != "block" && mode != "filesystem")
    throw Error(Code::kInternal,
                "metadata file " + origin + " has an unknown volume_mode '" + mode + "'");
  r.volumeMode = mode == "block" ? VolumeMode::kBlock : VolumeMode::kFilesystem;
  r.sourceSnapshotId = field<std::string>(doc, "source_snapshot_id", origin);
  r.sourceVolumeId = field<std::string>(doc, "source_volume_id", origin);
  r.createdUnixNs = field<int64_t>(doc, "created_unix_ns", origin);
  if (doc.contains("tier")) r.tier = field<std::string>(doc, "tier", origin);
  return r;
}

SnapshotRecord parseSnapshotRecord(const std::string& text, const std::string& origin) {
  json doc = parseObject(text, origin);
  SnapshotRecord r;
  r.id = field<std::string>(doc, "id", origin);
  r.name = field<std::string>(doc, "name", origin);
  r.sourceVolumeId = field<std::string>(doc, "source_volume_id", origin);
  r.sizeBytes = field<int64_t>(doc, "size_bytes", origin);
  r.createdUnixNs = field<int64_t>(doc, "created_unix_ns", origin);
  // Absent in records written before group snapshots, and for snapshots of their own.
  if (doc.contains("group_snapshot_id"))
    r.groupSnapshotId = field<std::string>(doc, "group_snapshot_id", origin);
  return r;
}

int64_t nowUnixNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace polycsi::sample
