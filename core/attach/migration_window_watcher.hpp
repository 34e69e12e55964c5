// Ends migration windows when they expire, not only when a later call happens to notice: at
// expiry the migration gets its outcome (MigrationFailed, reason timeout; result="timeout"),
// exactly once, whether or not a third node ever asks to attach.
//
// A background thread calls AttachmentManager::expireWindows() at the earliest open window's
// expiry, and at least every `maxWait`, so a window opened while it waits is still ended
// within `maxWait` of its expiry. Whether a window has expired is the manager's decision, on
// the manager's clock; this class only decides when to ask.
//
// THREADING: start() and stop() from one thread. Does not own the manager, which must outlive
// the watcher.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "attach/attachment_manager.hpp"

namespace polycsi::attach {

class MigrationWindowWatcher {
 public:
  // A watcher of `manager` that asks at least every `maxWait`; not started. INVALID_ARGUMENT
  // when `maxWait` is not positive.
  static StatusOr<std::unique_ptr<MigrationWindowWatcher>> create(
      AttachmentManager& manager, std::chrono::milliseconds maxWait = std::chrono::seconds(1));
  // Calls stop().
  ~MigrationWindowWatcher();
  MigrationWindowWatcher(const MigrationWindowWatcher&) = delete;
  MigrationWindowWatcher& operator=(const MigrationWindowWatcher&) = delete;

  // Starts the thread; its first check runs at once (windows that expired while the driver was
  // down end now). FAILED_PRECONDITION when started already and not stopped since.
  Status start();
  // Interrupts the wait and joins the thread. Idempotent.
  void stop();

 private:
  MigrationWindowWatcher(AttachmentManager& manager, std::chrono::milliseconds maxWait);

  // How long to wait before the next check: until the next expiry, at most maxWait_.
  std::chrono::milliseconds nextWait() const;

  AttachmentManager& manager_;
  const std::chrono::milliseconds maxWait_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace polycsi::attach
