#include "attach/attachment_manager.hpp"

#include <algorithm>
#include <utility>

#include "attach/messages.hpp"

namespace polycsi::attach {
namespace {

class SystemTimeSource : public TimeSource {
 public:
  Clock::time_point now() const override { return Clock::now(); }
};

bool holds(const VolumeAttachmentState& state, const std::string& node) {
  return std::find(state.nodes.begin(), state.nodes.end(), node) != state.nodes.end();
}

bool canAttach(AttachSemantics semantics) {
  return semantics == AttachSemantics::kExclusive || semantics == AttachSemantics::kShared ||
         semantics == AttachSemantics::kMigrationWindow;
}

// Time since a window opened; never negative, even if the wall clock was set back.
std::chrono::milliseconds elapsedSince(Clock::time_point start, Clock::time_point now) {
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - start));
}

// True when the state's migration window is open and more than its timeout has passed.
bool windowExpiredAt(const VolumeAttachmentState& state, Clock::time_point now) {
  return state.migrating() && now - *state.migrationStartedAt > state.migrationTimeout;
}

// A publish's arguments on their own: INVALID_ARGUMENT naming what cannot be published.
Status checkPublishArguments(const std::string& volumeId, const std::string& node,
                             const VolumePolicy& policy) {
  if (volumeId.empty()) return Status(Code::kInvalidArgument, "publish: empty volume id");
  if (node.empty())
    return Status(Code::kInvalidArgument, "publish of volume " + volumeId + ": empty node id");
  if (!canAttach(policy.semantics)) {
    return Status(Code::kInvalidArgument, "publish of volume " + volumeId + ": attach semantics " +
                                              semanticsName(policy.semantics) + " cannot attach");
  }
  if (policy.semantics == AttachSemantics::kMigrationWindow &&
      policy.migrationTimeout.count() <= 0) {
    return Status(Code::kInvalidArgument,
                  "publish of volume " + volumeId + ": migration timeout must be positive, got " +
                      std::to_string(policy.migrationTimeout.count()) + "s");
  }
  return Status::ok();
}

}  // namespace

const TimeSource& systemTime() {
  static const SystemTimeSource clock;
  return clock;
}

StatusOr<std::unique_ptr<AttachmentManager>> AttachmentManager::create(AttachmentStore& store,
                                                                       MigrationObserver& observer,
                                                                       const TimeSource& time) {
  auto loaded = store.loadAll();
  if (!loaded.isOk())
    return Status(Code::kInternal, "cannot load attachments: " + loaded.status().message());
  std::unique_ptr<AttachmentManager> manager(new AttachmentManager(store, observer, time));
  for (auto& state : *loaded) {
    std::string id = state.volumeId;
    manager->volumes_.emplace(std::move(id), std::move(state));
  }
  return manager;
}

AttachmentManager::AttachmentManager(AttachmentStore& store, MigrationObserver& observer,
                                     const TimeSource& time)
    : store_(store), observer_(observer), time_(time) {}

VolumeAttachmentState AttachmentManager::currentLocked(const std::string& volumeId) const {
  auto it = volumes_.find(volumeId);
  if (it != volumes_.end()) return it->second;
  VolumeAttachmentState detached;
  detached.volumeId = volumeId;
  return detached;
}

Status AttachmentManager::checkPlanCurrentLocked(const VolumeAttachmentState& before) const {
  if (currentLocked(before.volumeId) == before) return Status::ok();
  return Status(Code::kAborted, "attachments of volume " + before.volumeId +
                                    " changed since this operation was planned; retry");
}

Status AttachmentManager::persistIfCurrent(const VolumeAttachmentState& before,
                                           const VolumeAttachmentState& next) {
  std::lock_guard lock(mu_);
  Status current = checkPlanCurrentLocked(before);
  if (!current.isOk()) return current;
  return persistLocked(next);
}

Status AttachmentManager::persistLocked(const VolumeAttachmentState& next) {
  Status saved = store_.save(next);
  if (!saved.isOk()) return saved;
  if (next.nodes.empty()) {
    volumes_.erase(next.volumeId);
  } else {
    volumes_.insert_or_assign(next.volumeId, next);
  }
  return Status::ok();
}

StatusOr<PublishPlan> AttachmentManager::planPublish(
    const std::string& volumeId, const std::string& node, const VolumePolicy& policy,
    const std::string& backend, const std::string& metricsPrefix, const PvcRef& pvc,
    const std::optional<Clock::time_point>& attachedSince) {
  if (Status valid = checkPublishArguments(volumeId, node, policy); !valid.isOk()) return valid;

  std::unique_lock lock(mu_);
  const VolumeAttachmentState current = currentLocked(volumeId);
  PublishPlan plan;
  plan.before = current;
  plan.node = node;

  if (holds(current, node)) {
    // CSI: published already, but with another capability or read-only flag.
    auto recorded = current.nodeModes.find(node);
    if (!policy.nodeMode.empty() && recorded != current.nodeModes.end() &&
        recorded->second != policy.nodeMode) {
      return Status(Code::kAlreadyExists,
                    publishModeConflictMessage(volumeId, node, recorded->second, policy.nodeMode));
    }
    plan.action = PublishPlan::Action::kAlreadyAttached;
    plan.next = current;
    return plan;
  }

  if (current.nodes.empty()) {
    plan.action = PublishPlan::Action::kAttach;
    plan.next.volumeId = volumeId;
    plan.next.backend = backend;
    plan.next.metricsPrefix = metricsPrefix;
    plan.next.semantics = policy.semantics;
    plan.next.nodes = {node};
    if (!policy.nodeMode.empty()) plan.next.nodeModes[node] = policy.nodeMode;
    plan.next.migrationTimeout = policy.migrationTimeout;
    plan.next.pvc = pvc;
    return plan;
  }
  return planBesideAnotherNodeLocked(std::move(plan), policy, attachedSince, lock);
}

StatusOr<PublishPlan> AttachmentManager::planBesideAnotherNodeLocked(
    PublishPlan plan, const VolumePolicy& policy,
    const std::optional<Clock::time_point>& attachedSince, std::unique_lock<std::mutex>& lock) {
  const VolumeAttachmentState& current = plan.before;
  const std::string& volumeId = current.volumeId;
  const std::string node = plan.node;
  // The semantics the other node was granted under decide.
  auto refuse = [&](const VolumeAttachmentState& reported,
                    const std::string& message) -> StatusOr<PublishPlan> {
    lock.unlock();
    observer_.attachmentConflict(reported, node, message);
    return Status(Code::kFailedPrecondition, message);
  };
  if (current.semantics != policy.semantics) {
    return refuse(current, semanticsMismatchMessage(volumeId, current.nodes, current.semantics,
                                                    policy.semantics));
  }
  switch (current.semantics) {
    case AttachSemantics::kShared:
      plan.action = PublishPlan::Action::kAttach;
      plan.next = current;
      plan.next.nodes.push_back(node);
      if (!policy.nodeMode.empty()) plan.next.nodeModes[node] = policy.nodeMode;
      return plan;
    case AttachSemantics::kMigrationWindow:
      break;
    default:
      return refuse(current, exclusiveConflictMessage(volumeId, current.nodes.front()));
  }

  if (!current.migrating()) {
    plan.action = PublishPlan::Action::kStartMigration;
    plan.next = current;
    plan.next.nodes.push_back(node);
    if (!policy.nodeMode.empty()) plan.next.nodeModes[node] = policy.nodeMode;
    Clock::time_point start = time_.now();
    if (attachedSince && *attachedSince < start) start = *attachedSince;
    // Millisecond precision is what the store keeps: a restart must see the same start.
    plan.next.migrationStartedAt = std::chrono::floor<std::chrono::milliseconds>(start);
    plan.next.migrationTimeout = policy.migrationTimeout;
    plan.next.migrationTimedOut = false;
    return plan;
  }

  const Clock::time_point now = time_.now();
  if (!windowExpiredAt(current, now)) {
    return refuse(current, migrationLimitMessage(volumeId, current.nodes));
  }

  const auto elapsed = elapsedSince(*current.migrationStartedAt, now);
  const std::string message = migrationTimeoutMessage(volumeId, elapsed, current.migrationTimeout);
  if (current.migrationTimedOut) return refuse(current, message);

  // First refusal after expiry: record that the timeout is reported before reporting it, so a
  // restart does not report (and count) it again.
  VolumeAttachmentState timedOut = current;
  timedOut.migrationTimedOut = true;
  Status saved = persistLocked(timedOut);
  if (!saved.isOk()) return saved;
  lock.unlock();
  observer_.migrationFailed(timedOut, timedOut.nodes[0], timedOut.nodes[1], "timeout", elapsed);
  observer_.attachmentConflict(timedOut, node, message);
  return Status(Code::kFailedPrecondition, message);
}

Status AttachmentManager::commitPublish(const PublishPlan& plan) {
  if (plan.action == PublishPlan::Action::kAlreadyAttached) return Status::ok();
  if (Status saved = persistIfCurrent(plan.before, plan.next); !saved.isOk()) return saved;
  reportPublish(plan);
  return Status::ok();
}

void AttachmentManager::reportPublish(const PublishPlan& plan) {
  if (plan.action == PublishPlan::Action::kStartMigration) {
    observer_.migrationStarted(plan.next, plan.next.nodes[0], plan.next.nodes[1]);
  }
  observer_.attachmentsChanged(plan.next);
}

StatusOr<UnpublishPlan> AttachmentManager::planUnpublish(const std::string& volumeId,
                                                         const std::string& node) {
  if (volumeId.empty()) return Status(Code::kInvalidArgument, "unpublish: empty volume id");
  if (node.empty())
    return Status(Code::kInvalidArgument, "unpublish of volume " + volumeId + ": empty node id");

  std::lock_guard lock(mu_);
  const VolumeAttachmentState current = currentLocked(volumeId);
  UnpublishPlan plan;
  plan.before = current;
  plan.node = node;
  plan.next = current;

  if (!holds(current, node)) {
    plan.action = UnpublishPlan::Action::kNotAttached;
    return plan;
  }

  plan.next.nodeModes.erase(node);
  if (current.migrating()) {
    const bool source = node == current.nodes[0];
    plan.action = source ? UnpublishPlan::Action::kCompleteMigration
                         : UnpublishPlan::Action::kRollbackMigration;
    plan.next.nodes = {source ? current.nodes[1] : current.nodes[0]};
    plan.next.migrationStartedAt.reset();
    plan.next.migrationTimedOut = false;
    const Clock::time_point now = time_.now();
    plan.migrationDuration = elapsedSince(*current.migrationStartedAt, now);
    plan.windowExpired = !current.migrationTimedOut && windowExpiredAt(current, now);
    return plan;
  }

  plan.action = UnpublishPlan::Action::kDetach;
  std::erase(plan.next.nodes, node);
  return plan;
}

Status AttachmentManager::commitUnpublish(const UnpublishPlan& plan) {
  if (plan.action == UnpublishPlan::Action::kNotAttached) return Status::ok();
  if (Status saved = persistIfCurrent(plan.before, plan.next); !saved.isOk()) return saved;
  reportUnpublish(plan);
  return Status::ok();
}

void AttachmentManager::reportUnpublish(const UnpublishPlan& plan) {
  // A migration whose timeout was already reported ends without a second outcome: it neither
  // succeeded nor failed again. One whose window expired unnoticed ends as a timeout: a
  // handoff that outlived its window did not succeed, and a target that left after it did
  // not fail for leaving.
  const bool migrationEnds = plan.action == UnpublishPlan::Action::kCompleteMigration ||
                             plan.action == UnpublishPlan::Action::kRollbackMigration;
  const bool outcomePending = !plan.before.migrationTimedOut;
  if (migrationEnds && outcomePending && plan.windowExpired) {
    observer_.migrationFailed(plan.next, plan.before.nodes[0], plan.before.nodes[1], "timeout",
                              plan.migrationDuration);
  } else if (plan.action == UnpublishPlan::Action::kCompleteMigration && outcomePending) {
    observer_.migrationCompleted(plan.next, plan.before.nodes[0], plan.before.nodes[1],
                                 plan.migrationDuration);
  } else if (plan.action == UnpublishPlan::Action::kRollbackMigration && outcomePending) {
    observer_.migrationFailed(plan.next, plan.before.nodes[0], plan.before.nodes[1],
                              "target detached", plan.migrationDuration);
  }
  observer_.attachmentsChanged(plan.next);
}

StatusOr<int> AttachmentManager::expireWindows() {
  std::vector<VolumeAttachmentState> expired;
  Status firstError;
  {
    std::lock_guard lock(mu_);
    const Clock::time_point now = time_.now();
    for (const auto& [id, state] : volumes_) {
      if (state.migrationTimedOut || !windowExpiredAt(state, now)) continue;
      VolumeAttachmentState timedOut = state;
      timedOut.migrationTimedOut = true;
      expired.push_back(std::move(timedOut));
    }
    // Recorded before it is reported, as planPublish does, so a restart reports nothing twice.
    std::erase_if(expired, [&](const VolumeAttachmentState& next) {
      Status saved = persistLocked(next);
      if (saved.isOk()) return false;
      if (firstError.isOk())
        firstError = Status(saved.code(), "recording the expired migration window of volume " +
                                              next.volumeId + ": " + saved.message());
      return true;
    });
  }
  for (const VolumeAttachmentState& state : expired) {
    observer_.migrationFailed(state, state.nodes[0], state.nodes[1], "timeout",
                              elapsedSince(*state.migrationStartedAt, time_.now()));
  }
  if (!firstError.isOk()) return firstError;
  return static_cast<int>(expired.size());
}

std::optional<Clock::time_point> AttachmentManager::nextWindowExpiry() const {
  std::lock_guard lock(mu_);
  std::optional<Clock::time_point> next;
  for (const auto& [id, state] : volumes_) {
    if (!state.migrating() || state.migrationTimedOut) continue;
    const Clock::time_point expiry = *state.migrationStartedAt + state.migrationTimeout;
    if (!next || expiry < *next) next = expiry;
  }
  return next;
}

VolumeAttachmentState AttachmentManager::state(const std::string& volumeId) const {
  std::lock_guard lock(mu_);
  return currentLocked(volumeId);
}

std::vector<VolumeAttachmentState> AttachmentManager::all() const {
  std::lock_guard lock(mu_);
  std::vector<VolumeAttachmentState> states;
  states.reserve(volumes_.size());
  for (const auto& [id, state] : volumes_) states.push_back(state);
  return states;
}

Status AttachmentManager::commitForget(const UnpublishPlan& plan) {
  if (plan.action == UnpublishPlan::Action::kNotAttached) return Status::ok();
  if (Status saved = persistIfCurrent(plan.before, plan.next); !saved.isOk()) return saved;
  observer_.attachmentsChanged(plan.next);
  return Status::ok();
}

}  // namespace polycsi::attach
