// Cancellation flags for plugin calls (polycsi_call.cancelled), kept in step with the RPCs
// they serve: a call's flag becomes 1, and stays 1, once its client cancelled it or went away,
// its deadline passed, or the driver began shutting down.
//
// The synchronous gRPC API offers no notification when a call is cancelled, only
// ServerContext::IsCancelled(), so one background thread polls every watched call. It polls
// only while calls are watched. A flag is a plain int32_t written only with atomic stores, as
// plugin_abi.h requires; plugins read it with atomic loads.
//
// THREADING: every member is thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace grpc {
class ServerContext;
}

namespace polycsi::server {

class CallCancellation {
  // One watched call. Lives in a std::list node, so its flag never moves.
  struct Entry {
    const grpc::ServerContext* rpc;
    std::chrono::system_clock::time_point deadline;
    // Plain storage accessed only through std::atomic_ref: plugins get its address as the C
    // ABI's `const volatile int32_t*` and read it with atomic loads.
    alignas(std::atomic_ref<int32_t>::required_alignment) int32_t flag = 0;

    bool isSet() const;
    void set();
  };

 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // One watched call; stops watching when destroyed. Not copyable or movable: plugins hold
  // the address of its flag.
  class Watch {
   public:
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    ~Watch();

    // For polycsi_call.cancelled. Valid while this Watch lives; written with atomic stores.
    const volatile int32_t* flag() const;
    // An atomic load of the flag.
    bool cancelled() const;

   private:
    friend class CallCancellation;
    Watch(CallCancellation& owner, std::list<Entry>::iterator entry)
        : owner_(owner), entry_(entry) {}
    CallCancellation& owner_;
    std::list<Entry>::iterator entry_;
  };

  // `pollInterval` is how often the thread asks gRPC; zero starts no thread (tests then call
  // pollOnce). `now` is the clock deadlines are compared with.
  explicit CallCancellation(std::chrono::milliseconds pollInterval = kDefaultPollInterval,
                            Clock now = &std::chrono::system_clock::now);
  CallCancellation(const CallCancellation&) = delete;
  CallCancellation& operator=(const CallCancellation&) = delete;
  // Stops the thread. Every Watch must be gone by then.
  ~CallCancellation();

  // Watches a call until the returned Watch is destroyed. `rpc` may be null (no gRPC call:
  // only the deadline and shutdown count); otherwise it must outlive the Watch. The flag is
  // already set when the driver is shutting down or the deadline has passed.
  std::unique_ptr<Watch> watch(const grpc::ServerContext* rpc,
                               std::chrono::system_clock::time_point deadline);

  // The driver shuts down: sets the flag of every watched call and of every call watched
  // from now on. Idempotent.
  void cancelAll();

  // One pass over the watched calls, exactly as the thread makes it every pollInterval.
  void pollOnce();

  static constexpr std::chrono::milliseconds kDefaultPollInterval{50};

 private:
  void pollLocked();
  void run();

  const std::chrono::milliseconds pollInterval_;
  const Clock now_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::list<Entry> entries_;
  bool shuttingDown_ = false;
  bool stop_ = false;
  std::thread thread_;  // started by the first watch
};

}  // namespace polycsi::server
