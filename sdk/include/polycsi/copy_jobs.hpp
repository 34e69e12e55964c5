// CopyJobs: copies (snapshots, restores, clones) that outlive the CSI call that started them.
//
// A copy of a large volume takes longer than the sidecars' deadlines (the external-provisioner's
// and external-snapshotter's --timeout), and the core cancels a plugin call when its deadline
// passes. A copy run inside the call would be abandoned and the retry would start from zero,
// forever. Instead a copy runs on a thread of its own, keyed by what it makes (for example
// "snapshot/<id>" or a disk's name); a call starts it or finds it, waits for it a while and
// answers ("not ready" / ABORTED); a cancelled call leaves it running; the retry finds it by
// its key.
//
// A job stays known after it finished until a call collects its outcome (so the retry learns
// that it succeeded or why it failed), or until stop() / settle() forget it. The table is per
// process: after a restart no job is known, and the plugin decides what a half copy left behind
// means.
//
// A deletion of what a job makes holds the key with a Block: stop() cancels the job and waits
// for its thread; settle() waits a bounded time for it to end on its own and is ABORTED when it
// does not (for a copy that cannot be interrupted, such as one remote command).
//
// THREADING: every member is thread-safe. Jobs run on their own threads; the destructor flags
// every job's call as cancelled and joins its thread, so work must watch its call.
// OWNERSHIP: the CopyJobs owns its jobs' threads; it must outlive every Block it returned.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi {

// How far a copy got. Updated by the job's thread, read by anyone through status().
struct CopyCounts {
  int64_t entries = 0;  // e.g. files, directories and symlinks made so far
  int64_t bytes = 0;    // bytes of content copied so far
};

// What a job reports about itself.
struct CopyJobStatus {
  enum class State { kRunning, kSucceeded, kFailed };
  State state = State::kRunning;
  CopyCounts counts;
  std::optional<Error> error;  // set when kFailed
  // For a snapshot's copy: the snapshot it makes, as calls report it while it runs (start()).
  std::optional<Snapshot> snapshot;
};

class CopyJobs {
  struct Job;

 public:
  // How a table of jobs behaves; every member has a default.
  struct Options {
    // How many jobs may run at once (0: no limit). start() refuses more with
    // RESOURCE_EXHAUSTED (tooMany's message).
    int maxRunning = 0;
    // The deadline of each job's call: no copy lasts longer (DEADLINE_EXCEEDED then).
    std::chrono::milliseconds jobTimeLimit = std::chrono::hours(24);
    // Names the work in failure messages: "<activity> <key> failed: …",
    // "out of memory while <activity> <key>".
    std::string activity = "copying";
    // The message of start()'s RESOURCE_EXHAUSTED for `key` when maxRunning jobs run.
    std::function<std::string(const std::string& key, int maxRunning)> tooMany =
        [](const std::string& key, int maxRunning) {
          return "too many copies in progress: " + std::to_string(maxRunning) +
                 " are running; the copy of " + key + " starts on a retry once one of them ended";
        };
    // Runs on a job's thread after each progress report, with its key and its call: a test
    // holds a copy at a known point with it. Empty (no call) in production.
    std::function<void(const std::string& key, const Call& call)> afterProgress;
    // The message of settle()'s ABORTED for `key` when its job still runs.
    std::function<std::string(const std::string& key)> stillRunning = [](const std::string& key) {
      return key + " is still being copied; it is deleted once the copy ended, on a retry";
    };
  };

  // Handed to a job's work: its own call (deadline Options::jobTimeLimit, cancelled only by
  // stop() or the destructor), its key and the place to report progress. Lives as long as the
  // work runs; used only on the job's thread.
  class Context {
   public:
    const Call& call() const { return call_; }
    const std::string& key() const { return key_; }
    // Adds to the job's counts (any thread may read them through status()), then runs
    // Options::afterProgress when one is set.
    void progress(int64_t entries, int64_t bytes) {
      {
        std::lock_guard<std::mutex> lock(owner_.mu_);
        job_.status.counts.entries += entries;
        job_.status.counts.bytes += bytes;
      }
      if (owner_.options_.afterProgress) owner_.options_.afterProgress(key_, call_);
    }

   private:
    friend class CopyJobs;
    Context(CopyJobs& owner, Job& job, std::string key, Call call)
        : owner_(owner), job_(job), key_(std::move(key)), call_(call) {}
    CopyJobs& owner_;
    Job& job_;
    std::string key_;
    Call call_;
  };
  // The job's work. Reports failure by throwing (polycsi::Error keeps its code and message;
  // std::bad_alloc becomes RESOURCE_EXHAUSTED, anything else INTERNAL).
  using Work = std::function<void(Context&)>;

  // While a Block lives, start() refuses its key (a deletion removes what the job made).
  // Blocks of one key nest (two deletions at once). Movable, not copyable.
  class Block {
   public:
    Block(Block&& other) noexcept : owner_(other.owner_), key_(std::move(other.key_)) {
      other.owner_ = nullptr;
    }
    Block(const Block&) = delete;
    Block& operator=(const Block&) = delete;
    Block& operator=(Block&&) = delete;
    ~Block() {
      if (owner_ != nullptr) owner_->unblock(key_);
    }

   private:
    friend class CopyJobs;
    Block(CopyJobs* owner, std::string key) : owner_(owner), key_(std::move(key)) {}
    CopyJobs* owner_;
    std::string key_;
  };

  static constexpr std::chrono::milliseconds kCallPollInterval{50};

  CopyJobs() : CopyJobs(Options{}) {}
  explicit CopyJobs(Options options) : options_(std::move(options)) {
    options_.maxRunning = std::max(options_.maxRunning, 0);
  }
  CopyJobs(const CopyJobs&) = delete;
  CopyJobs& operator=(const CopyJobs&) = delete;
  // Cancels every job and waits for its thread (returns once each job's work has noticed its
  // cancelled call, or its bounded step ended).
  ~CopyJobs() {
    std::vector<std::shared_ptr<Job>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [key, job] : jobs_) {
        cancel(*job);
        all.push_back(job);
      }
    }
    for (auto& job : all)
      if (job->thread.joinable()) job->thread.join();
  }

  // Starts `work` on a thread of its own under `key`, unless a job is known under that key
  // (running, or finished and not yet collected): then does nothing and returns false. Returns
  // true when it started one. ABORTED while a Block holds `key`; RESOURCE_EXHAUSTED when
  // Options::maxRunning jobs run. `snapshot` is kept in the job's status.
  bool start(const std::string& key, Work work, std::optional<Snapshot> snapshot = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu_);
    if (blocked_.count(key) != 0)
      throw Error(Code::kAborted, key + " is being deleted; try again once the deletion finished");
    if (jobs_.count(key) != 0) return false;
    if (options_.maxRunning > 0 && runningLocked() >= options_.maxRunning)
      throw Error(Code::kResourceExhausted, options_.tooMany(key, options_.maxRunning));
    auto job = std::make_shared<Job>();
    job->status.snapshot = std::move(snapshot);
    jobs_[key] = job;
    // The thread takes mu_ before it reports anything, so `thread` is set by then.
    job->thread = std::thread(&CopyJobs::run, this, key, job, std::move(work));
    return true;
  }

  // The job under `key`, or nullopt when none is known.
  std::optional<CopyJobStatus> status(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) return std::nullopt;
    return it->second->status;
  }

  // Waits until the job under `key` finished, `until` passed or `call` was cancelled or ran
  // out of time, whichever comes first; then returns its status (nullopt when none is known).
  // Polls `call`'s flag, which has no notification, every kCallPollInterval.
  std::optional<CopyJobStatus> waitFor(const std::string& key, const Call& call,
                                       std::chrono::steady_clock::time_point until) const {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = jobs_.find(key);
      if (it == jobs_.end()) return std::nullopt;
      const CopyJobStatus& status = it->second->status;
      auto now = std::chrono::steady_clock::now();
      if (status.state != CopyJobStatus::State::kRunning || now >= until ||
          call.remaining().count() == 0 || call.isCancelled())
        return status;
      auto slice = std::min<std::chrono::steady_clock::duration>(kCallPollInterval, until - now);
      changed_.wait_for(lock, slice);
    }
  }

  // Forgets the job under `key` when it has finished, returning its final status; nullopt when
  // none is known or it is still running.
  std::optional<CopyJobStatus> collect(const std::string& key) {
    std::thread thread;
    CopyJobStatus out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = jobs_.find(key);
      if (it == jobs_.end() || it->second->status.state == CopyJobStatus::State::kRunning)
        return std::nullopt;
      thread = std::move(it->second->thread);
      out = it->second->status;
      jobs_.erase(it);
    }
    // The thread set the state as its last step under mu_: joining waits at most for its
    // return.
    if (thread.joinable()) thread.join();
    return out;
  }

  // Cancels the job under `key` (if any), waits for its thread and forgets it; start() then
  // refuses `key` until the returned Block is destroyed.
  Block stop(const std::string& key) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++blocked_[key];
      auto it = jobs_.find(key);
      if (it != jobs_.end()) {
        job = it->second;
        cancel(*job);
      }
    }
    Block block(this, key);
    if (job) {
      // Two stops of one key at once: only one may join; the other waits for the outcome.
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait(lock, [&] { return job->status.state != CopyJobStatus::State::kRunning; });
      std::thread thread;
      if (job->thread.joinable()) thread = std::move(job->thread);
      auto it = jobs_.find(key);
      if (it != jobs_.end() && it->second == job) jobs_.erase(it);
      lock.unlock();
      if (thread.joinable()) thread.join();
    }
    return block;
  }

  // Refuses new starts of `key` for the Block's life, waits (until `until`, bounded by `call`)
  // for a running job under it to end on its own and forgets it. ABORTED (Options::
  // stillRunning) when it still runs then: the job keeps running, the key is free again, and
  // the caller's retry waits again.
  Block settle(const std::string& key, const Call& call,
               std::chrono::steady_clock::time_point until) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++blocked_[key];
    }
    Block block(this, key);
    auto status = waitFor(key, call, until);
    if (status && status->state == CopyJobStatus::State::kRunning)
      throw Error(Code::kAborted, options_.stillRunning(key));
    collect(key);
    return block;
  }

 private:
  struct Job {
    CopyJobStatus status;
    // Plain storage for the job call's cancellation flag, read by Call through atomic loads
    // and written with atomic stores (see polycsi::Call::cancelled).
    alignas(std::atomic_ref<int32_t>::required_alignment) int32_t cancelled = 0;
    std::thread thread;
  };

  static void cancel(Job& job) {
    std::atomic_ref<int32_t>(job.cancelled).store(1, std::memory_order_release);
  }

  void run(std::string key, std::shared_ptr<Job> job, Work work) {
    Call call;
    call.timeout = options_.jobTimeLimit;
    call.cancelled = &job->cancelled;
    call.start = std::chrono::steady_clock::now();
    Context context(*this, *job, key, call);
    std::optional<Error> failure;
    try {
      work(context);
    } catch (const Error& e) {
      failure = e;
    } catch (const std::bad_alloc&) {
      failure =
          Error(Code::kResourceExhausted, "out of memory while " + options_.activity + " " + key);
    } catch (const std::exception& e) {
      failure = Error(Code::kInternal, options_.activity + " " + key + " failed: " + e.what());
    }
    std::lock_guard<std::mutex> lock(mu_);
    job->status.state = failure ? CopyJobStatus::State::kFailed : CopyJobStatus::State::kSucceeded;
    job->status.error = std::move(failure);
    changed_.notify_all();
  }

  int runningLocked() const {
    int running = 0;
    for (const auto& [key, job] : jobs_)
      if (job->status.state == CopyJobStatus::State::kRunning) ++running;
    return running;
  }

  void unblock(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blocked_.find(key);
    if (it != blocked_.end() && --it->second == 0) blocked_.erase(it);
  }

  Options options_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::map<std::string, int> blocked_;
};

}  // namespace polycsi
