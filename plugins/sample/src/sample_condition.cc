// The sample backend's controller-side volume condition: what its directory says of a volume.
#include <filesystem>
#include <system_error>

#include "local_ids.hpp"
#include "sample_backend.hpp"

namespace polycsi::sample {

std::vector<VolumeCondition> SampleBackend::controllerVolumeConditions(
    const ControllerConditionRequest& req) {
  std::vector<VolumeCondition> out;
  out.reserve(req.volumes.size());
  for (const auto& query : req.volumes) {
    req.call.checkpoint("checking volume " + query.volumeId);
    std::optional<VolumeRecord> record;
    if (isLegalLocalId(query.volumeId) && hasLocalIdShape(IdKind::kVolume, query.volumeId))
      record = files_.findVolume(query.volumeId);
    if (!record) {
      out.push_back({true, "volume '" + query.volumeId + "' has no record under " +
                               files_.root().string() + " (deleted behind the driver's back?)"});
      continue;
    }
    const std::filesystem::path image = files_.volumeImage(query.volumeId);
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(image, ec);
    if (ec) {
      out.push_back({true, "the image file " + image.string() + " of volume '" + query.volumeId +
                               "' cannot be read: " + ec.message()});
      continue;
    }
    if (static_cast<int64_t>(bytes) != record->capacityBytes) {
      out.push_back({true, "the image file " + image.string() + " has " + std::to_string(bytes) +
                               " bytes, but volume '" + query.volumeId + "' has " +
                               std::to_string(record->capacityBytes) +
                               " (changed behind the driver's back)"});
      continue;
    }
    out.push_back({false, "image file " + image.string() + " present with its " +
                              std::to_string(bytes) + " bytes"});
  }
  return out;
}

}  // namespace polycsi::sample
