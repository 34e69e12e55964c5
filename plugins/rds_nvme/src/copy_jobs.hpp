// CopyJobs: `/disk add … copy-from=` commands that outlive the CSI call that started them.
//
// A snapshot, restore or clone of a large disk takes longer than the sidecars' deadlines (the
// external-provisioner's and external-snapshotter's --timeout), and the core cancels a plugin
// call when its deadline passes. A copy run inside the call would be abandoned with its SSH
// session and the retry could only wait for a file it cannot judge. Instead the copy command
// runs on a thread of its own, keyed by the slot it makes; a call starts it or finds it, waits
// for it a while and answers; the retry finds it by its slot.
//
// A job stays known after it finished until a call collects its outcome (so the retry learns
// that it succeeded or why it failed). The table is per process: after a restart no job is
// known, and the backend's "file but no disk" rule decides (README, "Copies that outlast a
// call").
//
// At most `limit` jobs run at once: each holds one SSH session of the pool for its whole copy,
// and the other calls need the rest.
//
// THREADING: every member is thread-safe. The destructor flags every job's call as cancelled
// and joins its thread (a copy command already sent ends only with its answer or its timeout).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

// What a job reports about itself.
struct CopyJobStatus {
  enum class State { kRunning, kSucceeded, kFailed };
  State state = State::kRunning;
  std::optional<Error> error;  // set when kFailed
  // For a snapshot's copy: the snapshot it makes, as calls report it while it runs.
  std::optional<Snapshot> snapshot;
};

class CopyJobs {
 public:
  // The job's work, run on its own thread with its own call (deadline `jobTimeLimit`,
  // cancelled only by the destructor). Reports failure by throwing (polycsi::Error keeps its
  // code; anything else becomes INTERNAL).
  using Work = std::function<void(const Call&)>;

  // While a Block lives, start() refuses its key (a deletion removes what the job made).
  // Movable, not copyable.
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

  // `limit` (at least 1): how many jobs may run at once. `jobTimeLimit`: the deadline of each
  // job's call.
  CopyJobs(int limit, std::chrono::milliseconds jobTimeLimit);
  CopyJobs(const CopyJobs&) = delete;
  CopyJobs& operator=(const CopyJobs&) = delete;
  ~CopyJobs();

  // Starts `work` under `key` unless a job is known under it (then does nothing and returns
  // false). RESOURCE_EXHAUSTED when `limit` jobs run; ABORTED while a Block holds `key`.
  // `snapshot` is kept in the job's status.
  bool start(const std::string& key, Work work, std::optional<Snapshot> snapshot = std::nullopt);
  // The job under `key`, or nullopt when none is known.
  std::optional<CopyJobStatus> status(const std::string& key) const;
  // Waits until the job under `key` finished, `until` passed or `call` was cancelled or ran
  // out of time, whichever comes first; returns its status (nullopt when none is known).
  // Polls `call`'s flag, which has no notification, every kCallPollInterval.
  std::optional<CopyJobStatus> waitFor(const std::string& key, const Call& call,
                                       std::chrono::steady_clock::time_point until) const;
  // Forgets the job under `key` when it has finished and returns its final status; nullopt
  // when none is known or it still runs.
  std::optional<CopyJobStatus> collect(const std::string& key);
  // Refuses new starts of `key` for the Block's life, waits (until `until`, bounded by `call`)
  // for a running job under it to end and forgets it. ABORTED when it still runs then; the
  // job keeps running and the caller's retry waits again.
  Block settle(const std::string& key, const Call& call,
               std::chrono::steady_clock::time_point until);

  static constexpr std::chrono::milliseconds kCallPollInterval{50};

 private:
  struct Job {
    CopyJobStatus status;
    // Plain storage for the job call's cancellation flag (see polycsi::Call::cancelled).
    alignas(std::atomic_ref<int32_t>::required_alignment) int32_t cancelled = 0;
    std::thread thread;
  };

  void run(std::string key, std::shared_ptr<Job> job, Work work);
  void unblock(const std::string& key);
  int runningLocked() const;

  const int limit_;
  const std::chrono::milliseconds jobTimeLimit_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::map<std::string, int> blocked_;
};

}  // namespace polycsi::rds_nvme
