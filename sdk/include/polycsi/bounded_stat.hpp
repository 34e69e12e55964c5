// A stat() of a path that may hang, with a bound: a mount of an NFS server that stopped
// answering blocks stat() in the kernel (a "hard" mount retries for ever), and a node call that
// blocks with it never answers NodeGetVolumeStats at all. BoundedStat runs the stat on a thread
// of its own and waits for it at most a timeout; a stat that has not returned is abandoned, not
// repeated: while it still hangs, asking again for the same path reports the one in flight
// instead of starting another, so a hung server costs one thread per path, not one per call.
// BoundedStatvfs does the same for statvfs(), which hangs just as stat() does, and more often:
// the NFS client may answer stat() from its attribute cache, while statvfs() always asks the
// server (FSSTAT, RFC 1813 section 3.3.18; STATFS attributes in NFSv4).
// Header only, so a plugin needs nothing but the SDK; the core uses the same classes.
//
// THREADING: all members may be called from several threads at once.
// IDEMPOTENCY: probing only reads.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace polycsi {

// What one bounded probe of a path found.
enum class BoundedProbeKind {
  kOk,        // the call answered
  kFailed,    // the call failed with an errno (ENOENT, ESTALE, EIO, ...)
  kTimedOut,  // the call did not answer within the timeout (it may still be running)
};

// stat(2) and statvfs(3) of a path: 0, or errno.
inline int systemStatOf(const std::string& path, struct stat* out) {
  return ::stat(path.c_str(), out) == 0 ? 0 : errno;
}
inline int systemStatvfsOf(const std::string& path, struct statvfs* out) {
  return ::statvfs(path.c_str(), out) == 0 ? 0 : errno;
}

// A call `int (*)(const std::string& path, Info* out)` of a path, bounded as the header comment
// says. Use it through BoundedStat and BoundedStatvfs.
template <typename Info, int (*kSystemCall)(const std::string&, Info*)>
class BoundedPathProbe {
 public:
  // What one probe found.
  struct Result {
    using Kind = BoundedProbeKind;
    Kind kind = Kind::kOk;
    int error = 0;  // errno when kFailed
    Info st{};      // what the call wrote, when kOk
  };
  // The system call by default; tests pass a function that blocks or fails on their command. It
  // returns 0 or an errno value.
  using StatFunction = std::function<int(const std::string& path, Info* out)>;

  explicit BoundedPathProbe(StatFunction stat = systemStat) : stat_(std::move(stat)) {}
  BoundedPathProbe(const BoundedPathProbe&) = delete;
  BoundedPathProbe& operator=(const BoundedPathProbe&) = delete;

  // Calls the function for `path`, waiting at most `timeout` (a call already in flight for the
  // path counts: the wait is for that one). Never blocks longer than `timeout`.
  Result probe(const std::string& path, std::chrono::milliseconds timeout) {
    std::shared_ptr<Probe> probe;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& slot = inFlight_[path];
      // Only a stat still running is shared; one that has answered (its thread not yet gone
      // from the map) is stale: a new probe starts a new stat.
      bool running = false;
      if (slot) {
        std::lock_guard<std::mutex> guard(slot->mu);
        running = !slot->done;
      }
      if (!running) {
        auto fresh = std::make_shared<Probe>();
        std::weak_ptr<Probe> weak = fresh;
        // Set before the thread starts, so the thread always finds it.
        fresh->forget = [this, path, weak, alive = alive_] {
          std::lock_guard<std::mutex> aliveLock(alive->mu);
          if (!alive->value) return;  // the owner is gone; its map with it
          std::lock_guard<std::mutex> owner(mu_);
          auto it = inFlight_.find(path);
          if (it != inFlight_.end() && it->second == weak.lock()) inFlight_.erase(it);
        };
        slot = fresh;
        std::thread([path, p = fresh, stat = stat_] {
          Result r;
          const int error = stat(path, &r.st);
          if (error != 0) {
            r.kind = Result::Kind::kFailed;
            r.error = error;
          }
          {
            std::lock_guard<std::mutex> guard(p->mu);
            p->result = r;
            p->done = true;
          }
          p->cv.notify_all();
          // The owner may be gone by now (an abandoned stat outliving it): forget() checks.
          p->forget();
        }).detach();
      }
      probe = slot;
    }
    std::unique_lock<std::mutex> lock(probe->mu);
    if (!probe->cv.wait_for(lock, timeout, [&] { return probe->done; })) {
      Result r;
      r.kind = Result::Kind::kTimedOut;
      return r;
    }
    return probe->result;
  }

  ~BoundedPathProbe() {
    std::lock_guard<std::mutex> lock(alive_->mu);
    alive_->value = false;
  }

  // The system call: 0, or errno.
  static int systemStat(const std::string& path, Info* out) { return kSystemCall(path, out); }

 private:
  struct Probe {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Result result;
    std::function<void()> forget;  // drops the probe from its owner's map; set before the thread
  };
  struct Alive {
    std::mutex mu;
    bool value = true;
  };

  StatFunction stat_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Probe>> inFlight_;
  std::shared_ptr<Alive> alive_ = std::make_shared<Alive>();
};

// stat(2) of a path, bounded.
using BoundedStat = BoundedPathProbe<struct stat, systemStatOf>;
// statvfs(3) of a path, bounded: Result::st is the struct statvfs.
using BoundedStatvfs = BoundedPathProbe<struct statvfs, systemStatvfsOf>;

}  // namespace polycsi
