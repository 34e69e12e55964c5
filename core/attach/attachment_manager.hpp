// The per-volume attachment state machine of DESIGN.md ("Live migration"), for every plugin:
//
//   publish(A) on detached                 -> {A}; repeating is a no-op
//   publish(B) on {A}: exclusive           -> FAILED_PRECONDITION (names the node)
//                      shared              -> {A,B}
//                      migration_window    -> migrating A->B, window starts (MigrationStarted)
//   publish(C) while migrating             -> FAILED_PRECONDITION "already attached to 2 nodes
//                                             (migration limit). Attached nodes: [A, B]"
//   publish(X) after the window expired    -> FAILED_PRECONDITION migration timeout message;
//                                             MigrationFailed reason timeout (once)
//   unpublish(A) (source) while migrating  -> {B}: MigrationCompleted with duration
//   unpublish(B) (target) while migrating  -> {A}: MigrationFailed reason target detached
//
// Two-phase so storage fencing happens between check and record: plan*() decides without
// changing anything; the caller fences at the storage layer; commit*() persists the transition
// (before the RPC answers) and then reports events and metrics.
//
// THREADING: thread-safe; the core also serializes operations per volume.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "attach/attachment_state.hpp"
#include "attach/attachment_store.hpp"
#include "attach/migration_observer.hpp"
#include "polycsi/types.hpp"

namespace polycsi::attach {

// What a publish will do.
struct PublishPlan {
  enum class Action { kAlreadyAttached, kAttach, kStartMigration };
  Action action = Action::kAttach;
  VolumeAttachmentState next;  // state after commit
};

// What an unpublish will do.
struct UnpublishPlan {
  enum class Action { kNotAttached, kDetach, kCompleteMigration, kRollbackMigration };
  Action action = Action::kDetach;
  VolumeAttachmentState next;
  std::chrono::milliseconds migrationDuration{0};
};

// A source of "now", replaceable in tests.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point now() const = 0;
};
// The real clock.
const TimeSource& systemTime();

class AttachmentManager {
 public:
  // Loads every persisted state from `store`. Does not take ownership of the arguments.
  AttachmentManager(AttachmentStore& store, MigrationObserver& observer,
                    const TimeSource& time = systemTime());

  // Decides a publish of `volumeId` to `node`. OK with a plan, or FAILED_PRECONDITION with the
  // user-facing message. Reports an expired window (MigrationFailed/timeout) once.
  StatusOr<PublishPlan> planPublish(const std::string& volumeId, const std::string& node,
                                    const VolumePolicy& policy, const std::string& backend,
                                    const std::string& metricsPrefix, const PvcRef& pvc);
  // Persists a planned publish; then reports MigrationStarted when it starts one.
  Status commitPublish(const PublishPlan& plan);

  // Decides an unpublish; kNotAttached when `node` holds no attachment (CSI: success).
  StatusOr<UnpublishPlan> planUnpublish(const std::string& volumeId, const std::string& node);
  // Persists a planned unpublish; then reports MigrationCompleted / MigrationFailed.
  Status commitUnpublish(const UnpublishPlan& plan);

  // Current state of a volume (empty nodes when detached).
  VolumeAttachmentState state(const std::string& volumeId) const;
  // Every volume with at least one attachment.
  std::vector<VolumeAttachmentState> all() const;

  // Drops an attachment the cluster no longer has (VolumeAttachment reconciliation).
  Status forget(const std::string& volumeId, const std::string& node);

 private:
  AttachmentStore& store_;
  MigrationObserver& observer_;
  const TimeSource& time_;
  mutable std::mutex mu_;
  std::map<std::string, VolumeAttachmentState> volumes_;
};

}  // namespace polycsi::attach
