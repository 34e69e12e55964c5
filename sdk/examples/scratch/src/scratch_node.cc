// The node side of the scratch backend: attach describes a tmpfs for the core to mount.
#include "scratch_backend.hpp"
#include "value_checks.hpp"

namespace scratch {
namespace {

using polycsi::Code;
using polycsi::Error;

const std::string& contextValue(const polycsi::AttachRequest& req, const char* key) {
  auto it = req.volumeContext.find(key);
  if (it == req.volumeContext.end() || it->second.empty())
    throw Error(Code::kInvalidArgument,
                std::string("volume context of ") + req.volumeId + " lacks " + key +
                    "; NodeStageVolume must carry the volume_context CreateVolume returned");
  return it->second;
}

}  // namespace

std::string ScratchBackend::nodeIdentity(const polycsi::Call&) { return ""; }

polycsi::Attachment ScratchBackend::attach(const polycsi::AttachRequest& req) {
  if (!isValidVolumeId(req.volumeId))
    throw Error(Code::kNotFound, "scratch volume " + req.volumeId + " does not exist");
  if (req.volumeMode != polycsi::VolumeMode::kFilesystem)
    throw Error(Code::kInvalidArgument, "scratch volume " + req.volumeId +
                                            " is a tmpfs filesystem and cannot be a block volume");
  const std::string& size = contextValue(req, kSizeContextKey);
  const std::string& mode = contextValue(req, kModeContextKey);
  if (!parsePositive(size) || !isOctalMode(mode))
    throw Error(Code::kInvalidArgument, "volume context of " + req.volumeId + " has " +
                                            kSizeContextKey + "=\"" + size + "\" and " +
                                            kModeContextKey + "=\"" + mode +
                                            "\"; expected a positive byte count and octal digits");
  // The source name identifies the mount in the mount table; the core treats an existing
  // tmpfs of that name at the staging path as already mounted, which keeps staging idempotent.
  return polycsi::Attachment::mount("scratch-" + req.volumeId, "tmpfs",
                                    {"size=" + size, "mode=" + mode});
}

void ScratchBackend::detach(const polycsi::DetachRequest& req) {
  host_.debug("detach of scratch volume " + req.volumeId + ": nothing to release");
}

}  // namespace scratch
