// Descriptor, settings and the controller side of the scratch backend.
#include "scratch_backend.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <vector>

#include "value_checks.hpp"

namespace scratch {
namespace {

using polycsi::AccessMode;
using polycsi::AttachSemantics;
using polycsi::Code;
using polycsi::Error;
using polycsi::VolumeMode;

std::string modeParameter(const polycsi::StringMap& parameters) {
  auto it = parameters.find("mode");
  if (it == parameters.end()) return kDefaultMode;
  if (!isOctalMode(it->second))
    throw Error(Code::kInvalidArgument, "StorageClass parameter mode=\"" + it->second +
                                            "\" must be 3 or 4 octal digits, e.g. 1777");
  return it->second;
}

// The size to allocate: the request rounded up to whole pages, within the limit.
int64_t allocationFor(const polycsi::CreateVolumeRequest& req) {
  const int64_t wanted = req.requiredBytes > 0 ? req.requiredBytes : kDefaultVolumeBytes;
  const int64_t size = (wanted + kPageBytes - 1) / kPageBytes * kPageBytes;
  if (req.limitBytes > 0 && size > req.limitBytes)
    throw Error(Code::kOutOfRange, "volume " + req.name + ": " + std::to_string(wanted) +
                                       " bytes rounded up to whole pages is " +
                                       std::to_string(size) + ", above the limit of " +
                                       std::to_string(req.limitBytes) + " bytes");
  return size;
}

int64_t totalOf(const std::vector<VolumeRecord>& records) {
  return std::accumulate(records.begin(), records.end(), int64_t{0},
                         [](int64_t sum, const VolumeRecord& r) { return sum + r.capacityBytes; });
}

}  // namespace

polycsi::Descriptor ScratchBackend::describe() {
  polycsi::Descriptor d;
  d.name = "scratch";
  d.version = "0.1.0";
  d.description =
      "Ephemeral tmpfs volumes: fast scratch space whose data lives in one node's "
      "memory while the volume is staged (an SDK example)";
  d.metricsPrefix = "scratch";
  d.capabilities = {
      {AccessMode::kSingleNodeWriter, VolumeMode::kFilesystem, AttachSemantics::kExclusive, ""},
      {AccessMode::kSingleNodeSingleWriter, VolumeMode::kFilesystem, AttachSemantics::kExclusive,
       ""},
      {AccessMode::kSingleNodeWriter, VolumeMode::kBlock, AttachSemantics::kUnsupported,
       "scratch volumes are tmpfs filesystems; there is no block device to hand out"},
      {AccessMode::kMultiNodeMultiWriter, VolumeMode::kFilesystem, AttachSemantics::kUnsupported,
       "a scratch volume lives in one node's memory; no other node can reach it"},
  };
  // Designated initializers: SettingSpec gains members in new SDK minors (1.2: requiredIn).
  d.settings = {{.name = "max_total_bytes",
                 .kind = polycsi::SettingKind::kInteger,
                 .description = "Upper bound on the sum of all volume sizes (tmpfs is RAM); "
                                "default 1 GiB"}};
  d.parameters = {{.name = "mode",
                   .kind = polycsi::SettingKind::kString,
                   .description = "Octal permissions of the volume's root directory; default "
                                  "1777"}};
  return d;
}

ScratchBackend::ScratchBackend(const polycsi::InitContext& ctx)
    : host_(ctx.host),
      instanceName_(ctx.instanceName),
      maxTotalBytes_(kDefaultMaxTotalBytes),
      store_(std::filesystem::path(ctx.stateDir) / "volumes") {
  const std::string limit = ctx.get("max_total_bytes");
  if (!limit.empty()) {
    auto parsed = parsePositive(limit);
    if (!parsed)
      throw Error(Code::kInvalidArgument,
                  "setting max_total_bytes=\"" + limit + "\" must be a positive number of bytes");
    maxTotalBytes_ = *parsed;
  }
  std::lock_guard<std::mutex> lock(budgetMutex_);
  reportAllocation();
}

polycsi::Volume ScratchBackend::toVolume(const VolumeRecord& record) const {
  polycsi::Volume v;
  v.id = record.id;
  v.capacityBytes = record.capacityBytes;
  v.context = {{kSizeContextKey, std::to_string(record.capacityBytes)},
               {kModeContextKey, record.mode}};
  return v;
}

void ScratchBackend::reportAllocation() {
  const auto records = store_.all();
  host_.gaugeSet("volumes", {}, static_cast<double>(records.size()));
  host_.gaugeSet("allocated_bytes", {}, static_cast<double>(totalOf(records)));
}

polycsi::Volume ScratchBackend::createVolume(const polycsi::CreateVolumeRequest& req) {
  // The CSI name becomes the id, so the same name always finds the same record.
  if (!isValidVolumeId(req.name))
    throw Error(Code::kInvalidArgument,
                "volume name \"" + req.name +
                    "\" cannot be a scratch volume id (1 to 56 characters of [A-Za-z0-9._-], "
                    "starting with a letter or digit)");
  const std::string mode = modeParameter(req.parameters);
  const int64_t size = allocationFor(req);

  std::lock_guard<std::mutex> lock(budgetMutex_);
  if (auto existing = store_.find(req.name)) {
    const bool fits = existing->capacityBytes >= req.requiredBytes &&
                      (req.limitBytes == 0 || existing->capacityBytes <= req.limitBytes);
    if (!fits || existing->mode != mode)
      throw Error(Code::kAlreadyExists, "volume " + req.name + " already exists with " +
                                            std::to_string(existing->capacityBytes) +
                                            " bytes and mode " + existing->mode +
                                            ", which does not match this request");
    return toVolume(*existing);
  }
  const int64_t allocated = totalOf(store_.all());
  if (allocated + size > maxTotalBytes_)
    throw Error(Code::kResourceExhausted,
                "volume " + req.name + " needs " + std::to_string(size) + " bytes but only " +
                    std::to_string(maxTotalBytes_ - allocated) + " of max_total_bytes=" +
                    std::to_string(maxTotalBytes_) + " are left on backend " + instanceName_);
  VolumeRecord record{req.name, size, mode};
  store_.save(record);
  host_.info("created scratch volume " + req.name + " (" + std::to_string(size) + " bytes)");
  reportAllocation();
  return toVolume(record);
}

void ScratchBackend::deleteVolume(const polycsi::VolumeIdRequest& req) {
  if (!isValidVolumeId(req.volumeId)) return;  // never created here, so already gone
  std::lock_guard<std::mutex> lock(budgetMutex_);
  if (store_.remove(req.volumeId)) {
    host_.info("deleted scratch volume " + req.volumeId);
    reportAllocation();
  }
}

polycsi::Volume ScratchBackend::getVolume(const polycsi::VolumeIdRequest& req) {
  std::optional<VolumeRecord> record;
  if (isValidVolumeId(req.volumeId)) record = store_.find(req.volumeId);
  if (!record) throw Error(Code::kNotFound, "scratch volume " + req.volumeId + " does not exist");
  return toVolume(*record);
}

polycsi::VolumePage ScratchBackend::listVolumes(const polycsi::ListRequest& req) {
  if (!req.startingToken.empty() && !isValidVolumeId(req.startingToken))
    throw Error(Code::kAborted,
                "starting token \"" + req.startingToken + "\" was not issued by this backend");
  const auto records = store_.all();
  // Resuming at the token's id (or the next one, if it was deleted meanwhile) never skips a
  // volume that existed when the listing started.
  auto it = std::lower_bound(
      records.begin(), records.end(), req.startingToken,
      [](const VolumeRecord& r, const std::string& token) { return r.id < token; });
  polycsi::VolumePage page;
  for (; it != records.end(); ++it) {
    if (req.maxEntries > 0 && page.volumes.size() == static_cast<size_t>(req.maxEntries)) {
      page.nextToken = it->id;
      break;
    }
    page.volumes.push_back(toVolume(*it));
  }
  return page;
}

polycsi::Capacity ScratchBackend::getCapacity(const polycsi::CapacityRequest&) {
  const int64_t allocated = totalOf(store_.all());
  return polycsi::Capacity{std::max<int64_t>(0, maxTotalBytes_ - allocated), maxTotalBytes_,
                           kPageBytes};
}

}  // namespace scratch
