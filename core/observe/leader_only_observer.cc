#include "observe/leader_only_observer.hpp"

#include <utility>

namespace polycsi::observe {

LeaderOnlyObserver::LeaderOnlyObserver(attach::MigrationObserver& inner,
                                       std::function<bool()> leading)
    : inner_(inner), leading_(std::move(leading)) {}

void LeaderOnlyObserver::migrationStarted(const attach::VolumeAttachmentState& state,
                                          const std::string& source, const std::string& target) {
  if (leading_()) inner_.migrationStarted(state, source, target);
}

void LeaderOnlyObserver::migrationCompleted(const attach::VolumeAttachmentState& state,
                                            const std::string& source, const std::string& target,
                                            std::chrono::milliseconds duration) {
  if (leading_()) inner_.migrationCompleted(state, source, target, duration);
}

void LeaderOnlyObserver::migrationFailed(const attach::VolumeAttachmentState& state,
                                         const std::string& source, const std::string& target,
                                         const std::string& reason,
                                         std::chrono::milliseconds elapsed) {
  if (leading_()) inner_.migrationFailed(state, source, target, reason, elapsed);
}

void LeaderOnlyObserver::attachmentConflict(const attach::VolumeAttachmentState& state,
                                            const std::string& node, const std::string& message) {
  if (leading_()) inner_.attachmentConflict(state, node, message);
}

void LeaderOnlyObserver::attachmentsChanged(const attach::VolumeAttachmentState& state) {
  inner_.attachmentsChanged(state);
}

}  // namespace polycsi::observe
