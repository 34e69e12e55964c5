// Forwards every transition to several observers in order (metrics, Kubernetes events), so
// the attachment manager needs only one. An observer that throws is logged and skipped; the
// others still run, because a broken event sink must not hide metrics (or the reverse).
// THREADING: thread-safe if the observers are. Does not own the observers; they must outlive
// the fanout.
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "attach/migration_observer.hpp"

namespace polycsi::observe {

class ObserverFanout : public attach::MigrationObserver {
 public:
  // Null entries are ignored, so optional observers (no cluster: no events) can be passed
  // unconditionally.
  ObserverFanout(std::initializer_list<attach::MigrationObserver*> observers);
  explicit ObserverFanout(std::vector<attach::MigrationObserver*> observers);

  void migrationStarted(const attach::VolumeAttachmentState& state, const std::string& source,
                        const std::string& target) override;
  void migrationCompleted(const attach::VolumeAttachmentState& state, const std::string& source,
                          const std::string& target, std::chrono::milliseconds duration) override;
  void migrationFailed(const attach::VolumeAttachmentState& state, const std::string& source,
                       const std::string& target, const std::string& reason,
                       std::chrono::milliseconds elapsed) override;
  void attachmentConflict(const attach::VolumeAttachmentState& state, const std::string& node,
                          const std::string& message) override;
  void attachmentsChanged(const attach::VolumeAttachmentState& state) override;

 private:
  void forEach(const char* what, const std::function<void(attach::MigrationObserver&)>& call);

  std::vector<attach::MigrationObserver*> observers_;
};

}  // namespace polycsi::observe
