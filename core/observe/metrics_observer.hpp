// Turns attachment and migration transitions into metrics (docs/kubevirt-migration.md,
// "Monitoring"):
//   <prefix>_migration_active_migrations    volumes of that prefix now in a migration window
//                                           (two nodes attached; a timed-out window that is
//                                           still dual-attached stays counted until a detach)
//   <prefix>_migration_migrations_total     completed -> success; failed "timeout" -> timeout;
//                                           failed "target detached" -> failed
//   <prefix>_migration_migration_duration_seconds   observed on success
//   polycsi_attachments{backend,state}      volumes per backend, state attached | migrating
// The prefix is VolumeAttachmentState::metricsPrefix; a state without one only updates
// polycsi_attachments.
//
// At startup, pass every state of AttachmentManager::all() to attachmentsChanged() so the
// gauges start from the persisted attachments.
// THREADING: thread-safe. Does not own `metrics`, which must outlive it.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "attach/migration_observer.hpp"
#include "observe/metrics.hpp"

namespace polycsi::observe {

class MigrationMetrics : public attach::MigrationObserver {
 public:
  explicit MigrationMetrics(Metrics& metrics);

  void migrationStarted(const attach::VolumeAttachmentState& state, const std::string& source,
                        const std::string& target) override;
  void migrationCompleted(const attach::VolumeAttachmentState& state, const std::string& source,
                          const std::string& target, std::chrono::milliseconds duration) override;
  void migrationFailed(const attach::VolumeAttachmentState& state, const std::string& source,
                       const std::string& target, const std::string& reason,
                       std::chrono::milliseconds elapsed) override;
  // Conflicts are events only; no metric.
  void attachmentConflict(const attach::VolumeAttachmentState& state, const std::string& node,
                          const std::string& message) override;
  void attachmentsChanged(const attach::VolumeAttachmentState& state) override;

 private:
  // Adds or removes state.volumeId from its prefix's migrating set and republishes the gauge.
  void setMigrating(const attach::VolumeAttachmentState& state, bool migrating);  // requires mu_
  void publishAttachments();                                                      // requires mu_

  Metrics& metrics_;
  std::mutex mu_;
  std::map<std::string, std::set<std::string>> migratingByPrefix_;
  // volumeId -> (backend, state label) of every attached volume.
  std::map<std::string, std::pair<std::string, std::string>> attachedVolumes_;
  // Every (backend, state) ever published, so a label pair that empties goes back to 0.
  std::set<std::pair<std::string, std::string>> publishedLabels_;
};

}  // namespace polycsi::observe
