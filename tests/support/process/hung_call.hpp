// HungCall: a call that blocks until the test releases it, standing for a server that stopped
// answering (a hung NFS server under stat or statvfs). It counts the calls started and returned
// under its lock, so a test can wait for a call to have started (a caller that timed out at
// once may return before the call's thread ran at all) and, before it goes away, for every
// started call to have returned. No timing: a blocked call never returns before the test lets it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace polycsi::testing {

// THREADING: function()'s calls run on any thread; the other members on the test's thread.
// The object must outlive every call started (waitFinished / releaseAndWait ensure that).
class HungCall {
 public:
  // A call of the shape `int (const std::string& path, Info* out)` (stat, statvfs) that blocks
  // until release(), then returns 0 and leaves `out` untouched.
  template <typename Info>
  std::function<int(const std::string&, Info*)> function() {
    return [this](const std::string&, Info*) {
      std::unique_lock<std::mutex> lock(mu_);
      ++started_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
      ++finished_;
      cv_.notify_all();  // under the lock: the test wakes only once this thread let go of it
      return 0;
    };
  }

  int startedCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return started_;
  }

  void waitStarted(int count) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return started_ >= count; });
  }

  // Lets every call, blocked or still to come, return.
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }

  // Waits until every call that started has returned (nothing of this object is touched after).
  void waitFinished() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return finished_ == started_; });
  }

  void releaseAndWait() {
    release();
    waitFinished();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;  // guarded by mu_
  int started_ = 0;        // guarded by mu_
  int finished_ = 0;       // guarded by mu_
};

}  // namespace polycsi::testing
