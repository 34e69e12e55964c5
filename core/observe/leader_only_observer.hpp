// With several controller replicas (kube/controller_leadership.hpp) the standby rebuilds the
// same attachments and migrations as the leader, from the VolumeAttachments. What it sees is
// not news: announced again, every migration would post its Kubernetes events twice and count
// twice in the migration counters. This observer passes migration outcomes and conflicts on
// only while its replica leads; attachment changes (the gauges of the replica's own view) always.
// THREADING: thread-safe if the wrapped observer and `leading` are. Does not own the observer.
#pragma once

#include <functional>

#include "attach/migration_observer.hpp"

namespace polycsi::observe {

class LeaderOnlyObserver : public attach::MigrationObserver {
 public:
  // `leading` answers whether this replica leads now; `inner` must outlive this object.
  LeaderOnlyObserver(attach::MigrationObserver& inner, std::function<bool()> leading);

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
  attach::MigrationObserver& inner_;
  const std::function<bool()> leading_;
};

}  // namespace polycsi::observe
