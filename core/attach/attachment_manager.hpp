// The per-volume attachment state machine, for every plugin (docs/kubevirt-migration.md, "How
// the migration window works"):
//
//   publish(A) on detached                 -> {A}; repeating is a no-op
//   publish(B) on {A}: exclusive           -> FAILED_PRECONDITION (names the node)
//                      shared              -> {A,B}
//                      migration_window    -> migrating A->B, window starts (MigrationStarted)
//   publish(C) while migrating             -> FAILED_PRECONDITION "already attached to 2 nodes
//                                             (migration limit). Attached nodes: [A, B]"
//   window expires (expireWindows)         -> MigrationFailed reason timeout, counted once as
//                                             result "timeout"; both nodes stay attached
//   publish(X) after the window expired    -> FAILED_PRECONDITION migration timeout message
//   unpublish(A) (source) while migrating  -> {B}: MigrationCompleted with duration, or nothing
//                                             more when the window had expired
//   unpublish(B) (target) while migrating  -> {A}: MigrationFailed reason target detached, or
//                                             nothing more when the window had expired
//
// A publish of a node that already holds the volume is always OK, also after the window
// expired. A publish whose semantics differ from those the current attachments were granted
// under is refused (FAILED_PRECONDITION). The window expires when more than migrationTimeout
// has passed since it started. Each migration has exactly one outcome: an expired window is a
// timeout whichever call notices it first (expireWindows at expiry, or a publish or unpublish
// that comes before it ran), and the outcome is persisted before it is reported, so a restart
// does not report it again.
//
// Two-phase so storage fencing happens between check and record: plan*() decides without
// changing anything (except persisting and reporting an expired window once); the caller
// fences at the storage layer; commit*() persists the transition (before the RPC answers) and
// then reports events and metrics. Observers are called without the manager's lock held.
//
// THREADING: thread-safe; the core also serializes operations per volume. A commit whose plan
// no longer matches the volume's state (another operation got in between) is ABORTED.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  VolumeAttachmentState next;    // state after commit
  VolumeAttachmentState before;  // state the plan was made from
  std::string node;              // the node being published
};

// What an unpublish will do.
struct UnpublishPlan {
  enum class Action { kNotAttached, kDetach, kCompleteMigration, kRollbackMigration };
  Action action = Action::kDetach;
  VolumeAttachmentState next;
  std::chrono::milliseconds migrationDuration{0};
  // The window had expired before this unpublish and its timeout was not reported yet: the
  // migration's outcome is "timeout", whichever node leaves.
  bool windowExpired = false;
  VolumeAttachmentState before;  // state the plan was made from
  std::string node;              // the node being unpublished
};

// A source of "now", replaceable in tests.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point now() const = 0;
};
// The real clock. THREADING: safe from any thread; lives for the whole program.
const TimeSource& systemTime();

class AttachmentManager {
 public:
  // A manager holding every persisted state from `store`. Does not take ownership of the
  // arguments, which must outlive the manager. INTERNAL (naming the store) when the store
  // cannot be read: a controller must not serve with unknown attachments.
  static StatusOr<std::unique_ptr<AttachmentManager>> create(AttachmentStore& store,
                                                             MigrationObserver& observer,
                                                             const TimeSource& time = systemTime());
  AttachmentManager(const AttachmentManager&) = delete;
  AttachmentManager& operator=(const AttachmentManager&) = delete;

  // Decides a publish of `volumeId` to `node`. OK with a plan, or FAILED_PRECONDITION with the
  // user-facing message (also reported as attachmentConflict). Reports an expired window
  // (MigrationFailed/timeout) once, persisted so a restart does not report it again.
  // `attachedSince`, when given, is a lower bound of when `node` attached (a VolumeAttachment's
  // creation time, when attachments are rebuilt): a migration this publish starts keeps that
  // start rather than now, so rebuilding never extends a window. Ignored when in the future.
  // INVALID_ARGUMENT for an empty id or node, a policy that cannot attach, or a
  // migration_window policy without a positive timeout; INTERNAL when the store fails.
  StatusOr<PublishPlan> planPublish(
      const std::string& volumeId, const std::string& node, const VolumePolicy& policy,
      const std::string& backend, const std::string& metricsPrefix, const PvcRef& pvc,
      const std::optional<Clock::time_point>& attachedSince = std::nullopt);
  // Persists a planned publish; then reports MigrationStarted when it starts one. Idempotent
  // for kAlreadyAttached. On a store failure returns it and changes nothing.
  Status commitPublish(const PublishPlan& plan);

  // Decides an unpublish; kNotAttached when `node` holds no attachment (CSI: success).
  StatusOr<UnpublishPlan> planUnpublish(const std::string& volumeId, const std::string& node);
  // Persists a planned unpublish; then reports MigrationCompleted / MigrationFailed. On a store
  // failure returns it and changes nothing.
  Status commitUnpublish(const UnpublishPlan& plan);

  // Ends every open migration window that has passed its timeout and whose outcome is not yet
  // reported: persists that the timeout is reported, then reports MigrationFailed with reason
  // "timeout" (once per migration, also across restarts). Both nodes stay attached: further
  // publishes are refused until one of them detaches. Returns how many windows it ended;
  // INTERNAL naming the volume when the store fails (the others are still ended, and a later
  // call retries the failed one). Called at expiry by MigrationWindowWatcher.
  StatusOr<int> expireWindows();
  // When the earliest open, unreported window expires; nullopt when there is none.
  std::optional<Clock::time_point> nextWindowExpiry() const;

  // Current state of a volume (empty nodes when detached).
  VolumeAttachmentState state(const std::string& volumeId) const;
  // Every volume with at least one attachment, ordered by volume id.
  std::vector<VolumeAttachmentState> all() const;

  // Persists a planned unpublish of an attachment the cluster no longer has (VolumeAttachment
  // reconciliation), after the caller closed its storage fence: the same transition as
  // commitUnpublish, but no migration outcome is reported (neither MigrationCompleted nor
  // MigrationFailed), only attachmentsChanged. The detach happened outside this driver (another
  // controller instance, which reported it, or a VolumeAttachment removed by force), so whether
  // the migration succeeded is not this driver's to say. Idempotent for kNotAttached; ABORTED
  // when the volume changed since the plan; on a store failure returns it and changes nothing.
  Status commitForget(const UnpublishPlan& plan);

 private:
  AttachmentManager(AttachmentStore& store, MigrationObserver& observer, const TimeSource& time);

  // planPublish when another node holds the volume (plan.before): shared, a migration to
  // start, or a conflict. Called with `lock` held on mu_; unlocks it before reporting to the
  // observer.
  StatusOr<PublishPlan> planBesideAnotherNodeLocked(
      PublishPlan plan, const VolumePolicy& policy,
      const std::optional<Clock::time_point>& attachedSince, std::unique_lock<std::mutex>& lock);
  VolumeAttachmentState currentLocked(const std::string& volumeId) const;
  Status checkPlanCurrentLocked(const VolumeAttachmentState& before) const;
  Status persistLocked(const VolumeAttachmentState& next);
  // Persists `next` if the volume is still in state `before` (ABORTED otherwise); takes mu_.
  Status persistIfCurrent(const VolumeAttachmentState& before, const VolumeAttachmentState& next);
  void reportPublish(const PublishPlan& plan);
  void reportUnpublish(const UnpublishPlan& plan);

  AttachmentStore& store_;
  MigrationObserver& observer_;
  const TimeSource& time_;
  mutable std::mutex mu_;
  std::map<std::string, VolumeAttachmentState> volumes_;
};

}  // namespace polycsi::attach
