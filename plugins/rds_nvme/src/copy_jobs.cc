#include "copy_jobs.hpp"

#include <algorithm>
#include <atomic>
#include <new>
#include <vector>

namespace polycsi::rds_nvme {

CopyJobs::Block::~Block() {
  if (owner_ != nullptr) owner_->unblock(key_);
}

CopyJobs::CopyJobs(int limit, std::chrono::milliseconds jobTimeLimit)
    : limit_(std::max(limit, 1)), jobTimeLimit_(jobTimeLimit) {}

CopyJobs::~CopyJobs() {
  std::vector<std::shared_ptr<Job>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, job] : jobs_) {
      std::atomic_ref<int32_t>(job->cancelled).store(1, std::memory_order_release);
      all.push_back(job);
    }
  }
  for (auto& job : all)
    if (job->thread.joinable()) job->thread.join();
}

int CopyJobs::runningLocked() const {
  int running = 0;
  for (const auto& [key, job] : jobs_)
    if (job->status.state == CopyJobStatus::State::kRunning) ++running;
  return running;
}

bool CopyJobs::start(const std::string& key, Work work, std::optional<Snapshot> snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  if (blocked_.count(key) != 0)
    throw Error(Code::kAborted, key + " is being deleted; try again once the deletion finished");
  if (jobs_.count(key) != 0) return false;
  if (runningLocked() >= limit_)
    throw Error(Code::kResourceExhausted,
                "too many copies in progress: " + std::to_string(limit_) +
                    " /disk add copy-from commands are running (each holds one SSH session; "
                    "the limit is pool_size - 1, at least 1); the copy of " +
                    key + " starts on a retry once one of them ended");
  auto job = std::make_shared<Job>();
  job->status.snapshot = std::move(snapshot);
  jobs_[key] = job;
  // The thread takes mu_ before it reports anything, so `thread` is set by then.
  job->thread = std::thread(&CopyJobs::run, this, key, job, std::move(work));
  return true;
}

void CopyJobs::run(std::string key, std::shared_ptr<Job> job, Work work) {
  Call call;
  call.timeout = jobTimeLimit_;
  call.cancelled = &job->cancelled;
  call.start = std::chrono::steady_clock::now();
  std::optional<Error> failure;
  try {
    work(call);
  } catch (const Error& e) {
    failure = e;
  } catch (const std::bad_alloc&) {
    failure = Error(Code::kResourceExhausted, "out of memory while copying into " + key);
  } catch (const std::exception& e) {
    failure = Error(Code::kInternal, "copying into " + key + " failed: " + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  job->status.state = failure ? CopyJobStatus::State::kFailed : CopyJobStatus::State::kSucceeded;
  job->status.error = std::move(failure);
  changed_.notify_all();
}

std::optional<CopyJobStatus> CopyJobs::status(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(key);
  if (it == jobs_.end()) return std::nullopt;
  return it->second->status;
}

std::optional<CopyJobStatus> CopyJobs::waitFor(const std::string& key, const Call& call,
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

std::optional<CopyJobStatus> CopyJobs::collect(const std::string& key) {
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
  // The thread set the state as its last step under mu_: joining waits at most for its return.
  if (thread.joinable()) thread.join();
  return out;
}

CopyJobs::Block CopyJobs::settle(const std::string& key, const Call& call,
                                 std::chrono::steady_clock::time_point until) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++blocked_[key];
  }
  Block block(this, key);
  auto status = waitFor(key, call, until);
  if (status && status->state == CopyJobStatus::State::kRunning)
    throw Error(Code::kAborted, key +
                                    " is still being copied (/disk add copy-from has not "
                                    "answered); it is deleted once the copy ended, on a retry");
  collect(key);
  return block;
}

void CopyJobs::unblock(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocked_.find(key);
  if (it != blocked_.end() && --it->second == 0) blocked_.erase(it);
}

}  // namespace polycsi::rds_nvme
