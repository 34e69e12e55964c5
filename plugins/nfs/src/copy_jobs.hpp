// CopyJobs: copies that outlive the CSI call that started them.
//
// A snapshot or clone of a large volume takes longer than the sidecars' deadlines (the
// external-provisioner's and external-snapshotter's --timeout). The core cancels a plugin call
// when its deadline passes, so a copy run inside the call would be abandoned and the retry
// would start from zero, forever. Instead, a copy runs on a thread of its own, keyed by what it
// makes ("snapshot/<id>", "volume/<id>"); a call starts it or finds it, waits for it a while,
// and answers; a cancelled call leaves it running; the retry finds it by its key.
//
// A job stays known after it finished until a call collects its outcome (so the retry learns
// that it succeeded or why it failed), or until stop() forgets it. The table is per process:
// after a restart no job is known, and the caller decides what a half copy left behind means.
//
// THREADING: every member is thread-safe. Jobs run on their own threads; the destructor
// cancels every job and joins its thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "polycsi/types.hpp"

namespace polycsi::nfs {

// How far a copy got. Updated by the job's thread, read by anyone.
struct CopyCounts {
  int64_t entries = 0;  // files, directories and symlinks made so far
  int64_t bytes = 0;    // bytes of file content copied so far
};

// What a job reports about itself.
struct CopyJobStatus {
  enum class State { kRunning, kSucceeded, kFailed };
  State state = State::kRunning;
  CopyCounts counts;
  std::optional<Error> error;  // set when kFailed
};

class CopyJobs {
  struct Job;

 public:
  // Handed to a job's work: its own call (no deadline shorter than kJobTimeLimit, cancelled
  // only by stop() or the destructor) and the place to report progress.
  class Context {
   public:
    const Call& call() const { return call_; }
    const std::string& key() const { return key_; }
    // Adds to the job's counts (any thread may read them through status()), then runs the
    // test seam (setStepHookForTesting) when one is set.
    void progress(int64_t entries, int64_t bytes);

   private:
    friend class CopyJobs;
    Context(CopyJobs& owner, Job& job, std::string key, Call call)
        : owner_(owner), job_(job), key_(std::move(key)), call_(call) {}
    CopyJobs& owner_;
    Job& job_;
    std::string key_;
    Call call_;
  };
  using Work = std::function<void(Context&)>;

  // A key that stop() stopped, kept from new starts until the Block is destroyed (the caller
  // removes what the job made meanwhile). Movable, not copyable.
  class Block {
   public:
    Block(Block&& other) noexcept : owner_(other.owner_), key_(std::move(other.key_)) {
      other.owner_ = nullptr;
    }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    Block& operator=(Block&&) = delete;
    ~Block();

   private:
    friend class CopyJobs;
    Block(CopyJobs* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    CopyJobs* owner_;
    std::string key_;
  };

  // No copy lasts longer than this: the job's own call times out (DEADLINE_EXCEEDED) then.
  static constexpr std::chrono::hours kJobTimeLimit{24};

  CopyJobs() = default;
  CopyJobs(const CopyJobs&) = delete;
  CopyJobs& operator=(const CopyJobs&) = delete;
  // Cancels every job and waits for its thread (each NFS call of a job is bounded by the
  // backend's timeout, so this returns within about that time).
  ~CopyJobs();

  // Starts `work` on a thread of its own under `key`, unless a job is known under that key
  // (running, or finished and not yet collected): then nothing happens. Returns true when it
  // started one. ABORTED while `key` is blocked by stop(). `work` reports failure by throwing
  // (polycsi::Error keeps its code; anything else becomes INTERNAL).
  bool start(const std::string& key, Work work);
  // The job under `key`, or nullopt when none is known.
  std::optional<CopyJobStatus> status(const std::string& key) const;
  // Waits until the job under `key` finished, `until` passed or `call` was cancelled or ran
  // out of time, whichever comes first; then returns its status (nullopt when none is known).
  // Polls `call`'s flag, which has no notification, every kCallPollInterval.
  std::optional<CopyJobStatus> waitFor(const std::string& key, const Call& call,
                                       std::chrono::steady_clock::time_point until) const;
  // Forgets the job under `key` when it has finished, returning its final status; nullopt when
  // none is known or it is still running.
  std::optional<CopyJobStatus> collect(const std::string& key);
  // Cancels the job under `key` (if any), waits for its thread and forgets it; start() then
  // refuses `key` until the returned Block is destroyed. Blocks nest (two deletions at once).
  Block stop(const std::string& key);

  // Test seam: when set, every job calls `hook` on its own thread after each progress report,
  // with its key and its call; a test blocks in it to hold a copy at a known point. Unset (the
  // default) in production. Set it only while no job runs.
  static void setStepHookForTesting(std::function<void(const std::string&, const Call&)> hook);

  static constexpr std::chrono::milliseconds kCallPollInterval{50};

 private:
  struct Job {
    CopyJobStatus status;
    // Plain storage for the job's cancellation flag, read by Call through atomic loads and
    // written with atomic stores (see polycsi::Call::cancelled).
    alignas(std::atomic_ref<int32_t>::required_alignment) int32_t cancelled = 0;
    std::thread thread;
  };

  void run(std::string key, std::shared_ptr<Job> job, Work work);
  void unblock(const std::string& key);

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::map<std::string, int> blocked_;
};

}  // namespace polycsi::nfs
