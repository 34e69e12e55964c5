#include "node/volume_path_check.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace polycsi::node {
namespace {

using Kind = VolumePathCheck::Outcome::Kind;

constexpr char kStaleAdvice[] =
    " (a stale NFS file handle: the server no longer has what is mounted; restage the volume "
    "once the export is back)";

VolumePathCheck::Outcome outcome(Kind kind, std::string message) {
  VolumePathCheck::Outcome out;
  out.kind = kind;
  out.message = std::move(message);
  return out;
}

// The outcome of a probe that did not answer with data: `call` names it in the message.
VolumePathCheck::Outcome unanswered(const std::string& path, const char* call,
                                    BoundedProbeKind kind, int error,
                                    std::chrono::milliseconds waited) {
  if (kind == BoundedProbeKind::kFailed && (error == ENOENT || error == ENOTDIR))
    return outcome(Kind::kMissing, "volume_path " + path + " does not exist");
  if (kind == BoundedProbeKind::kTimedOut)
    return outcome(Kind::kAbnormal, "volume_path " + path + " does not answer: " + call +
                                        " did not return within " + std::to_string(waited.count()) +
                                        " ms (a hung NFS server or a dead device); no usage "
                                        "could be read");
  return outcome(Kind::kAbnormal, "volume_path " + path + " cannot be read: " + call + " failed: " +
                                      std::strerror(error) + (error == ESTALE ? kStaleAdvice : "") +
                                      "; no usage could be read");
}

std::chrono::milliseconds leftUntil(VolumePathCheck::Clock::time_point deadline,
                                    VolumePathCheck::Clock::time_point now) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now));
}

}  // namespace

VolumeUsage usageFromStatvfs(const struct statvfs& info) {
  VolumeUsage usage;
  const auto fragment = static_cast<int64_t>(info.f_frsize);
  usage.totalBytes = static_cast<int64_t>(info.f_blocks) * fragment;
  usage.availableBytes = static_cast<int64_t>(info.f_bavail) * fragment;
  usage.usedBytes = static_cast<int64_t>(info.f_blocks - info.f_bfree) * fragment;
  usage.totalInodes = static_cast<int64_t>(info.f_files);
  usage.freeInodes = static_cast<int64_t>(info.f_ffree);
  usage.usedInodes = usage.totalInodes - usage.freeInodes;
  return usage;
}

VolumePathCheck::Outcome VolumePathCheck::check(const std::string& path, bool filesystem,
                                                std::chrono::milliseconds bound) {
  const Clock::time_point deadline = now_() + bound;
  const BoundedStat::Result stated = stat_.probe(path, bound);
  if (stated.kind != BoundedProbeKind::kOk)
    return unanswered(path, "stat()", stated.kind, stated.error, bound);
  if (!filesystem) return Outcome{};
  // What is left of the bound: a stat that took most of it leaves the statvfs little.
  const std::chrono::milliseconds left = leftUntil(deadline, now_());
  const BoundedStatvfs::Result usage = statvfs_.probe(path, left);
  if (usage.kind != BoundedProbeKind::kOk)
    return unanswered(path, "statvfs()", usage.kind, usage.error, left);
  Outcome out;
  out.usage = usageFromStatvfs(usage.st);
  return out;
}

}  // namespace polycsi::node
