// NodeGetVolumeStats' look at a volume's path, every filesystem query in it bounded
// (polycsi/bounded_stat.hpp): a stat() of the path, then for a filesystem volume a statvfs() for
// its usage. A hard NFS mount of a server that stopped answering, or a stale mount, blocks either
// call in the kernel for ever; and the NFS client may answer the stat from its attribute cache
// while the statvfs waits for the server, so bounding only the stat is not enough. The two calls
// share one bound: the whole look never takes longer than it.
//
// THREADING: thread-safe (the bounded probes are). IDEMPOTENCY: only reads.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "node/mounter.hpp"
#include "polycsi/bounded_stat.hpp"

namespace polycsi::node {

class VolumePathCheck {
 public:
  using Clock = std::chrono::steady_clock;

  // The system's stat, statvfs and clock by default; tests pass functions that hang or fail on
  // their command, and a clock they move (how much of the bound a stat used).
  explicit VolumePathCheck(BoundedStat::StatFunction stat = BoundedStat::systemStat,
                           BoundedStatvfs::StatFunction statvfs = BoundedStatvfs::systemStat,
                           std::function<Clock::time_point()> now = Clock::now)
      : stat_(std::move(stat)), statvfs_(std::move(statvfs)), now_(std::move(now)) {}

  struct Outcome {
    enum class Kind {
      kAnswered,  // the path answered; `usage` holds a filesystem's usage
      kMissing,   // ENOENT / ENOTDIR: the volume is not at the path (CSI: NOT_FOUND)
      kAbnormal,  // no answer within the bound, or another error: the volume's condition
    };
    Kind kind = Kind::kAnswered;
    // kMissing: the NOT_FOUND message; kAbnormal: the abnormal condition's message, which names
    // the path, the call and what it means (a hung server, a stale NFS file handle).
    std::string message;
    std::optional<VolumeUsage> usage;  // kAnswered for a filesystem volume
  };

  // Looks at `path` (absolute; the caller checked it), a filesystem volume's mount when
  // `filesystem` (its usage is read) or a raw block volume's published device node. Waits at
  // most `bound` in all.
  Outcome check(const std::string& path, bool filesystem, std::chrono::milliseconds bound);

 private:
  BoundedStat stat_;
  BoundedStatvfs statvfs_;
  std::function<Clock::time_point()> now_;
};

// A filesystem's usage from what statvfs() answered: bytes in fragments (f_frsize), available
// bytes as an unprivileged writer sees them (f_bavail), inodes. Pure function.
VolumeUsage usageFromStatvfs(const struct statvfs& info);

}  // namespace polycsi::node
