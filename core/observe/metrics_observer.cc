#include "observe/metrics_observer.hpp"

namespace polycsi::observe {
namespace {

// The manager's notion of a migration: a migration window open with both nodes attached.
bool inMigrationWindow(const attach::VolumeAttachmentState& state) {
  return state.migrationStartedAt.has_value() && state.nodes.size() == 2;
}

double toSeconds(std::chrono::milliseconds duration) {
  return std::chrono::duration<double>(duration).count();
}

}  // namespace

MigrationMetrics::MigrationMetrics(Metrics& metrics) : metrics_(metrics) {}

void MigrationMetrics::setMigrating(const attach::VolumeAttachmentState& state, bool migrating) {
  if (state.metricsPrefix.empty()) return;
  std::set<std::string>& migratingVolumes = migratingByPrefix_[state.metricsPrefix];
  if (migrating) {
    migratingVolumes.insert(state.volumeId);
  } else {
    migratingVolumes.erase(state.volumeId);
  }
  metrics_.setActiveMigrations(state.metricsPrefix, static_cast<double>(migratingVolumes.size()));
}

void MigrationMetrics::migrationStarted(const attach::VolumeAttachmentState& state,
                                        const std::string& /*source*/,
                                        const std::string& /*target*/) {
  std::lock_guard lock(mu_);
  setMigrating(state, true);
}

void MigrationMetrics::migrationCompleted(const attach::VolumeAttachmentState& state,
                                          const std::string& /*source*/,
                                          const std::string& /*target*/,
                                          std::chrono::milliseconds duration) {
  std::lock_guard lock(mu_);
  setMigrating(state, false);
  if (state.metricsPrefix.empty()) return;
  metrics_.countMigration(state.metricsPrefix, kMigrationResultSuccess);
  metrics_.observeMigrationDuration(state.metricsPrefix, toSeconds(duration));
}

void MigrationMetrics::migrationFailed(const attach::VolumeAttachmentState& state,
                                       const std::string& /*source*/, const std::string& /*target*/,
                                       const std::string& reason,
                                       std::chrono::milliseconds /*elapsed*/) {
  std::lock_guard lock(mu_);
  const bool timedOut = reason == "timeout";
  // A timed-out window keeps both nodes attached until one detaches: it stays active.
  if (!timedOut) setMigrating(state, false);
  if (state.metricsPrefix.empty()) return;
  metrics_.countMigration(state.metricsPrefix,
                          timedOut ? kMigrationResultTimeout : kMigrationResultFailed);
}

void MigrationMetrics::attachmentConflict(const attach::VolumeAttachmentState& /*state*/,
                                          const std::string& /*node*/,
                                          const std::string& /*message*/) {}

void MigrationMetrics::attachmentsChanged(const attach::VolumeAttachmentState& state) {
  std::lock_guard lock(mu_);
  const bool migrating = inMigrationWindow(state);
  // Keeps the active gauge equal to the manager's state even when a transition was not
  // reported as an event (a forgotten attachment, a restart).
  if (!state.metricsPrefix.empty()) {
    const auto& current = migratingByPrefix_[state.metricsPrefix];
    if ((current.count(state.volumeId) != 0) != migrating) setMigrating(state, migrating);
  }
  if (state.nodes.empty()) {
    attachedVolumes_.erase(state.volumeId);
  } else {
    attachedVolumes_[state.volumeId] = {
        state.backend, migrating ? kAttachmentStateMigrating : kAttachmentStateAttached};
  }
  publishAttachments();
}

void MigrationMetrics::publishAttachments() {
  std::map<std::pair<std::string, std::string>, double> counts;
  for (const auto& label : publishedLabels_) counts[label] = 0;
  for (const auto& [volumeId, label] : attachedVolumes_) counts[label] += 1;
  for (const auto& [label, count] : counts) {
    metrics_.setAttachments(label.first, label.second, count);
    publishedLabels_.insert(label);
  }
}

}  // namespace polycsi::observe
