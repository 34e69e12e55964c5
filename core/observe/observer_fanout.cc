#include "observe/observer_fanout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace polycsi::observe {

ObserverFanout::ObserverFanout(std::initializer_list<attach::MigrationObserver*> observers)
    : ObserverFanout(std::vector<attach::MigrationObserver*>(observers)) {}

ObserverFanout::ObserverFanout(std::vector<attach::MigrationObserver*> observers)
    : observers_(std::move(observers)) {
  observers_.erase(std::remove(observers_.begin(), observers_.end(), nullptr), observers_.end());
}

void ObserverFanout::forEach(const char* what,
                             const std::function<void(attach::MigrationObserver&)>& call) {
  for (attach::MigrationObserver* observer : observers_) {
    try {
      call(*observer);
    } catch (const std::exception& e) {
      spdlog::error("migration observer failed on {}: {}", what, e.what());
    }
  }
}

void ObserverFanout::migrationStarted(const attach::VolumeAttachmentState& state,
                                      const std::string& source, const std::string& target) {
  forEach("migrationStarted", [&](attach::MigrationObserver& observer) {
    observer.migrationStarted(state, source, target);
  });
}

void ObserverFanout::migrationCompleted(const attach::VolumeAttachmentState& state,
                                        const std::string& source, const std::string& target,
                                        std::chrono::milliseconds duration) {
  forEach("migrationCompleted", [&](attach::MigrationObserver& observer) {
    observer.migrationCompleted(state, source, target, duration);
  });
}

void ObserverFanout::migrationFailed(const attach::VolumeAttachmentState& state,
                                     const std::string& source, const std::string& target,
                                     const std::string& reason, std::chrono::milliseconds elapsed) {
  forEach("migrationFailed", [&](attach::MigrationObserver& observer) {
    observer.migrationFailed(state, source, target, reason, elapsed);
  });
}

void ObserverFanout::attachmentConflict(const attach::VolumeAttachmentState& state,
                                        const std::string& node, const std::string& message) {
  forEach("attachmentConflict", [&](attach::MigrationObserver& observer) {
    observer.attachmentConflict(state, node, message);
  });
}

void ObserverFanout::attachmentsChanged(const attach::VolumeAttachmentState& state) {
  forEach("attachmentsChanged",
          [&](attach::MigrationObserver& observer) { observer.attachmentsChanged(state); });
}

}  // namespace polycsi::observe
