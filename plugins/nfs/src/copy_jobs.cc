#include "copy_jobs.hpp"

#include <atomic>
#include <new>
#include <vector>

namespace polycsi::nfs {
namespace {

std::function<void(const std::string&, const Call&)>& stepHook() {
  static std::function<void(const std::string&, const Call&)> hook;
  return hook;
}

}  // namespace

void CopyJobs::setStepHookForTesting(std::function<void(const std::string&, const Call&)> hook) {
  stepHook() = std::move(hook);
}

void CopyJobs::Context::progress(int64_t entries, int64_t bytes) {
  {
    std::lock_guard<std::mutex> lock(owner_.mu_);
    job_.status.counts.entries += entries;
    job_.status.counts.bytes += bytes;
  }
  if (const auto& hook = stepHook()) hook(key_, call_);
}

CopyJobs::Block::~Block() {
  if (owner_ != nullptr) owner_->unblock(key_);
}

CopyJobs::~CopyJobs() {
  std::vector<std::shared_ptr<Job>> running;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, job] : jobs_) {
      std::atomic_ref<int32_t>(job->cancelled).store(1, std::memory_order_release);
      running.push_back(job);
    }
  }
  for (auto& job : running)
    if (job->thread.joinable()) job->thread.join();
}

bool CopyJobs::start(const std::string& key, Work work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (blocked_.count(key) != 0)
    throw Error(Code::kAborted, key + " is being deleted; try again once the deletion finished");
  if (jobs_.count(key) != 0) return false;
  auto job = std::make_shared<Job>();
  jobs_[key] = job;
  // The thread waits for mu_ before it reports anything, so `thread` is set by then.
  job->thread = std::thread(&CopyJobs::run, this, key, job, std::move(work));
  return true;
}

void CopyJobs::run(std::string key, std::shared_ptr<Job> job, Work work) {
  Call call;
  call.timeout = kJobTimeLimit;
  call.cancelled = &job->cancelled;
  call.start = std::chrono::steady_clock::now();
  Context context(*this, *job, key, call);
  std::optional<Error> failure;
  try {
    work(context);
  } catch (const Error& e) {
    failure = e;
  } catch (const std::bad_alloc&) {
    failure = Error(Code::kResourceExhausted, "out of memory while copying " + key);
  } catch (const std::exception& e) {
    failure = Error(Code::kInternal, "copying " + key + " failed: " + e.what());
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
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(key);
  if (it == jobs_.end() || it->second->status.state == CopyJobStatus::State::kRunning)
    return std::nullopt;
  // The thread set the state as its last step under mu_; joining it waits at most for its
  // return.
  if (it->second->thread.joinable()) it->second->thread.join();
  CopyJobStatus out = it->second->status;
  jobs_.erase(it);
  return out;
}

CopyJobs::Block CopyJobs::stop(const std::string& key) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++blocked_[key];
    auto it = jobs_.find(key);
    if (it != jobs_.end()) {
      job = it->second;
      std::atomic_ref<int32_t>(job->cancelled).store(1, std::memory_order_release);
    }
  }
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
  return Block(this, key);
}

void CopyJobs::unblock(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blocked_.find(key);
  if (it != blocked_.end() && --it->second == 0) blocked_.erase(it);
}

}  // namespace polycsi::nfs
