// polycsi/copy_jobs.hpp: jobs outlive the caller, report their outcome once, a stop cancels a
// job, waits for it and keeps its key from new starts until released; a settle waits for a job
// without cancelling it; at most Options::maxRunning jobs run; each job's call has
// Options::jobTimeLimit as its deadline.
#include "polycsi/copy_jobs.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>

namespace polycsi {
namespace {

using State = CopyJobStatus::State;

// A latch the test opens; a job waits on it, giving up when its own call is cancelled.
class Latch {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  // True when opened, false when `call` was cancelled first.
  bool wait(const Call& call) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!open_) {
      if (call.isCancelled()) return false;
      changed_.wait_for(lock, std::chrono::milliseconds(5));
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;
};

Call never() {
  Call c;
  c.timeout = std::chrono::minutes(10);
  return c;
}

std::chrono::steady_clock::time_point inAMinute() {
  return std::chrono::steady_clock::now() + std::chrono::minutes(1);
}

TEST(CopyJobsTest, AJobOutlivesItsCallerAndReportsItsOutcomeOnce) {
  // Declared before the jobs, which are destroyed (and stopped) first.
  Latch latch;
  std::atomic<int> runs{0};
  CopyJobs jobs;
  auto work = [&](CopyJobs::Context& context) {
    ++runs;
    context.progress(2, 100);
    if (!latch.wait(context.call())) context.call().checkpoint("copying");
  };
  EXPECT_TRUE(jobs.start("volume/a", work));
  EXPECT_FALSE(jobs.start("volume/a", work)) << "a second start must find the running job";

  // A caller whose deadline passed gets the job's state at once; the job goes on.
  Call gone = never();
  gone.timeout = std::chrono::milliseconds(0);
  auto status = jobs.waitFor("volume/a", gone, inAMinute());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, State::kRunning);
  EXPECT_FALSE(jobs.collect("volume/a").has_value()) << "a running job cannot be collected";

  latch.open();
  status = jobs.waitFor("volume/a", never(), inAMinute());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, State::kSucceeded);
  EXPECT_EQ(status->counts.entries, 2);
  EXPECT_EQ(status->counts.bytes, 100);
  auto collected = jobs.collect("volume/a");
  ASSERT_TRUE(collected.has_value());
  EXPECT_EQ(collected->state, State::kSucceeded);
  EXPECT_FALSE(jobs.status("volume/a").has_value()) << "collected jobs are forgotten";
  EXPECT_EQ(runs.load(), 1);
}

TEST(CopyJobsTest, AFailureKeepsItsCodeAndMessage) {
  CopyJobs jobs;
  jobs.start("snapshot/s",
             [](CopyJobs::Context&) { throw Error(Code::kResourceExhausted, "export full"); });
  auto status = jobs.waitFor("snapshot/s", never(), inAMinute());
  ASSERT_TRUE(status.has_value());
  ASSERT_EQ(status->state, State::kFailed);
  ASSERT_TRUE(status->error.has_value());
  EXPECT_EQ(status->error->code(), Code::kResourceExhausted);
  EXPECT_STREQ(status->error->what(), "export full");
}

TEST(CopyJobsTest, StopCancelsWaitsAndBlocksTheKeyUntilReleased) {
  Latch never_opened;
  std::atomic<bool> cancelled{false};
  CopyJobs jobs;
  jobs.start("volume/b", [&](CopyJobs::Context& context) {
    if (!never_opened.wait(context.call())) {
      cancelled = true;
      context.call().checkpoint("copying");
    }
  });
  {
    CopyJobs::Block block = jobs.stop("volume/b");
    EXPECT_TRUE(cancelled.load()) << "stop returned before the job saw its cancellation";
    EXPECT_FALSE(jobs.status("volume/b").has_value());
    try {
      jobs.start("volume/b", [](CopyJobs::Context&) {});
      ADD_FAILURE() << "a start during a deletion must be refused";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kAborted);
    }
    // Other keys are not blocked.
    EXPECT_TRUE(jobs.start("volume/c", [](CopyJobs::Context&) {}));
  }
  EXPECT_TRUE(jobs.start("volume/b", [](CopyJobs::Context&) {}));
  auto status = jobs.waitFor("volume/b", never(), inAMinute());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, State::kSucceeded);
}

TEST(CopyJobsTest, AWaitEndsWhenTheCallerIsCancelled) {
  Latch latch;
  CopyJobs jobs;
  jobs.start("volume/d", [&](CopyJobs::Context& context) { latch.wait(context.call()); });
  alignas(std::atomic_ref<int32_t>::required_alignment) int32_t flag = 1;
  Call cancelled = never();
  cancelled.cancelled = &flag;
  auto status = jobs.waitFor("volume/d", cancelled, inAMinute());
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, State::kRunning);
  latch.open();
  // The destructor stops whatever still runs; this job ends on its own.
}

TEST(CopyJobsTest, TheDestructorCancelsRunningJobs) {
  std::atomic<bool> sawCancellation{false};
  Latch never_opened;
  {
    CopyJobs jobs;
    jobs.start("volume/e", [&](CopyJobs::Context& context) {
      sawCancellation = !never_opened.wait(context.call());
    });
  }
  EXPECT_TRUE(sawCancellation.load());
}

TEST(CopyJobsTest, AtMostMaxRunningJobsRunAndAFinishedOneFreesItsPlace) {
  Latch latch;
  CopyJobs::Options options;
  options.maxRunning = 1;
  options.tooMany = [](const std::string& key, int maxRunning) {
    return key + " waits: " + std::to_string(maxRunning) + " running";
  };
  CopyJobs jobs(options);
  EXPECT_TRUE(jobs.start("a", [&](CopyJobs::Context& context) { latch.wait(context.call()); }));
  try {
    jobs.start("b", [](CopyJobs::Context&) {});
    ADD_FAILURE() << "a second job must wait for the first";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kResourceExhausted);
    EXPECT_STREQ(e.what(), "b waits: 1 running");
  }
  EXPECT_FALSE(jobs.status("b").has_value());
  latch.open();
  ASSERT_EQ(jobs.waitFor("a", never(), inAMinute())->state, State::kSucceeded);
  // Finished but not collected: it no longer runs, so it does not count.
  EXPECT_TRUE(jobs.start("b", [](CopyJobs::Context&) {}));
}

TEST(CopyJobsTest, WithoutALimitManyJobsRunAtOnce) {
  Latch latch;
  CopyJobs jobs;
  for (const char* key : {"a", "b", "c", "d"})
    EXPECT_TRUE(jobs.start(key, [&](CopyJobs::Context& context) { latch.wait(context.call()); }));
  latch.open();
}

TEST(CopyJobsTest, SettleWaitsForTheJobWithoutCancellingIt) {
  CopyJobs jobs;
  std::atomic<bool> cancelled{false};
  jobs.start("disk-1",
             [&](CopyJobs::Context& context) { cancelled = context.call().isCancelled(); });
  {
    CopyJobs::Block block = jobs.settle("disk-1", never(), inAMinute());
    EXPECT_FALSE(cancelled.load());
    EXPECT_FALSE(jobs.status("disk-1").has_value()) << "a settled job is forgotten";
    EXPECT_THROW(jobs.start("disk-1", [](CopyJobs::Context&) {}), Error);
  }
  EXPECT_TRUE(jobs.start("disk-1", [](CopyJobs::Context&) {}));
}

TEST(CopyJobsTest, SettleIsAbortedWhileTheJobRunsAndLeavesItRunning) {
  Latch latch;
  CopyJobs::Options options;
  options.stillRunning = [](const std::string& key) { return key + " still copies"; };
  CopyJobs jobs(options);
  jobs.start("disk-2", [&](CopyJobs::Context& context) { latch.wait(context.call()); });
  try {
    // `until` has passed already: no waiting.
    jobs.settle("disk-2", never(), std::chrono::steady_clock::now());
    ADD_FAILURE() << "settle must not succeed while the job runs";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kAborted);
    EXPECT_STREQ(e.what(), "disk-2 still copies");
  }
  auto status = jobs.status("disk-2");
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->state, State::kRunning);
  EXPECT_FALSE(jobs.start("disk-2", [](CopyJobs::Context&) {})) << "the key is free again";
  latch.open();
}

TEST(CopyJobsTest, TheSnapshotPayloadTravelsWithTheJob) {
  CopyJobs jobs;
  Snapshot pending;
  pending.id = "snap-1";
  pending.sourceVolumeId = "pvc-1";
  jobs.start(
      "snap-1", [](CopyJobs::Context&) {}, pending);
  auto status = jobs.waitFor("snap-1", never(), inAMinute());
  ASSERT_TRUE(status.has_value() && status->snapshot.has_value());
  EXPECT_EQ(status->snapshot->id, "snap-1");
  EXPECT_EQ(status->snapshot->sourceVolumeId, "pvc-1");
}

TEST(CopyJobsTest, TheJobsCallHasTheTimeLimitAndFailuresNameTheActivity) {
  CopyJobs::Options options;
  options.jobTimeLimit = std::chrono::milliseconds(1234);
  options.activity = "copying into";
  CopyJobs jobs(options);
  std::chrono::milliseconds seen{0};
  jobs.start("disk-3", [&](CopyJobs::Context& context) {
    seen = context.call().timeout;
    EXPECT_EQ(context.key(), "disk-3");
    throw std::runtime_error("boom");
  });
  auto status = jobs.waitFor("disk-3", never(), inAMinute());
  ASSERT_TRUE(status.has_value() && status->error.has_value());
  EXPECT_EQ(seen, std::chrono::milliseconds(1234));
  EXPECT_EQ(status->error->code(), Code::kInternal);
  EXPECT_STREQ(status->error->what(), "copying into disk-3 failed: boom");
}

}  // namespace
}  // namespace polycsi
