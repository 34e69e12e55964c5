// The node half of the sample backend: volume images bound to loop devices.
#include <filesystem>

#include "local_ids.hpp"
#include "loop_device.hpp"
#include "sample_backend.hpp"

namespace polycsi::sample {
namespace {

// The loop devices that serve the image as it is now (not a deleted earlier file).
std::vector<LoopDevice> liveLoops(const std::filesystem::path& image) {
  std::vector<LoopDevice> loops = findLoopDevices(image);
  std::erase_if(loops, [](const LoopDevice& l) { return l.backingFileDeleted; });
  return loops;
}

}  // namespace

Attachment SampleBackend::attach(const AttachRequest& req) {
  req.call.checkpoint("attaching volume " + req.volumeId);
  requireVolume(req.volumeId);
  std::filesystem::path image = files_.volumeImage(req.volumeId);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(image, ec))
    throw Error(Code::kNotFound,
                "the image file of volume " + req.volumeId + " is missing: " + image.string());
  for (const auto& loop : liveLoops(image)) {
    if (loop.readOnly != req.readonly)
      throw Error(Code::kFailedPrecondition, "volume " + req.volumeId + " is already attached " +
                                                 (loop.readOnly ? "read-only" : "read-write") +
                                                 " as " + loop.devicePath +
                                                 "; detach it before attaching it " +
                                                 (req.readonly ? "read-only" : "read-write"));
    return Attachment::blockDevice(loop.devicePath);
  }
  LoopDevice loop = attachLoopDevice(image, req.readonly, req.call);
  host_.info("attached volume " + req.volumeId + " as " + loop.devicePath +
             (req.readonly ? " (read-only)" : ""));
  return Attachment::blockDevice(loop.devicePath);
}

void SampleBackend::detach(const DetachRequest& req) {
  req.call.checkpoint("detaching volume " + req.volumeId);
  requireLegalLocalId(req.volumeId, "volume id");
  if (!hasLocalIdShape(IdKind::kVolume, req.volumeId)) return;  // never one of ours
  // Also the devices of a since-deleted image: they were made for this volume's file.
  for (const auto& loop : findLoopDevices(files_.volumeImage(req.volumeId))) {
    req.call.checkpoint("detaching " + loop.devicePath);
    detachLoopDevice(loop);
    host_.info("detached volume " + req.volumeId + " from " + loop.devicePath);
  }
}

void SampleBackend::nodeExpand(const NodeExpandRequest& req) {
  req.call.checkpoint("expanding volume " + req.volumeId + " on the node");
  requireVolume(req.volumeId);
  auto loops = liveLoops(files_.volumeImage(req.volumeId));
  if (loops.empty())
    throw Error(Code::kFailedPrecondition,
                "volume " + req.volumeId +
                    " is not attached on this node: no loop device serves "
                    "its image");
  for (const auto& loop : loops) {
    req.call.checkpoint("refreshing " + loop.devicePath);
    refreshLoopCapacity(loop);
    int64_t bytes = blockDeviceBytes(loop.devicePath);
    if (req.requiredBytes > 0 && bytes < req.requiredBytes)
      throw Error(Code::kFailedPrecondition, loop.devicePath + " has " + std::to_string(bytes) +
                                                 " bytes after refreshing, "
                                                 "less than the required " +
                                                 std::to_string(req.requiredBytes) +
                                                 ": expand the volume on the controller first");
  }
}

VolumeCondition SampleBackend::volumeCondition(const DetachRequest& req) {
  req.call.checkpoint("checking volume " + req.volumeId);
  requireVolume(req.volumeId);
  std::filesystem::path image = files_.volumeImage(req.volumeId);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(image, ec))
    return VolumeCondition{true, "the image file " + image.string() + " is missing"};
  auto loops = liveLoops(image);
  if (loops.empty())
    return VolumeCondition{true, "no loop device serves the image " + image.string() +
                                     " on this node (detached behind the driver's back?)"};
  return VolumeCondition{false, "attached as " + loops.front().devicePath};
}

}  // namespace polycsi::sample
