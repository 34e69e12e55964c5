// A stat() of a path that may hang, with a bound: a mount of an NFS server that stopped
// answering blocks stat() in the kernel (a "hard" mount retries for ever), and a node call that
// blocks with it never answers NodeGetVolumeStats at all. BoundedStat runs the stat on a thread
// of its own and waits for it at most a timeout; a stat that has not returned is abandoned, not
// repeated: while it still hangs, asking again for the same path reports the one in flight
// instead of starting another, so a hung server costs one thread per path, not one per call.
// Header only, so a plugin needs nothing but the SDK; the core uses the same class.
//
// THREADING: all members may be called from several threads at once.
// IDEMPOTENCY: probing only reads.
#pragma once

#include <sys/stat.h>

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

class BoundedStat {
 public:
  // What one probe found.
  struct Result {
    enum class Kind {
      kOk,        // stat() answered
      kFailed,    // stat() failed with `error` (ENOENT, ESTALE, EIO, ...)
      kTimedOut,  // stat() did not answer within the timeout (it may still be running)
    };
    Kind kind = Kind::kOk;
    int error = 0;  // errno when kFailed
    struct stat st {};
  };
  // stat(2) by default; tests pass a function that blocks or fails on their command. It returns
  // 0 or an errno value.
  using StatFunction = std::function<int(const std::string& path, struct stat* out)>;

  explicit BoundedStat(StatFunction stat = systemStat) : stat_(std::move(stat)) {}
  BoundedStat(const BoundedStat&) = delete;
  BoundedStat& operator=(const BoundedStat&) = delete;

  // Stats `path`, waiting at most `timeout` (a stat already in flight for the path counts: the
  // wait is for that one). Never blocks longer than `timeout`.
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

  ~BoundedStat() {
    std::lock_guard<std::mutex> lock(alive_->mu);
    alive_->value = false;
  }

  // stat(2): 0, or errno.
  static int systemStat(const std::string& path, struct stat* out) {
    return ::stat(path.c_str(), out) == 0 ? 0 : errno;
  }

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

}  // namespace polycsi
