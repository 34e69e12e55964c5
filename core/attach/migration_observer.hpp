// Receives attachment and migration transitions, for metrics (core/observe) and Kubernetes
// events (core/kube). Called after the transition is persisted.
// THREADING: called from RPC threads; implementations must be thread-safe and must not block
// long (post events asynchronously).
#pragma once

#include <chrono>
#include <string>

#include "attach/attachment_state.hpp"

namespace polycsi::attach {

class MigrationObserver {
 public:
  virtual ~MigrationObserver() = default;
  virtual void migrationStarted(const VolumeAttachmentState& state, const std::string& source,
                                const std::string& target) = 0;
  virtual void migrationCompleted(const VolumeAttachmentState& state, const std::string& source,
                                  const std::string& target,
                                  std::chrono::milliseconds duration) = 0;
  // reason: "timeout" or "target detached".
  virtual void migrationFailed(const VolumeAttachmentState& state, const std::string& source,
                               const std::string& target, const std::string& reason,
                               std::chrono::milliseconds elapsed) = 0;
  // A publish refused because of other attachments (event AttachmentConflict).
  virtual void attachmentConflict(const VolumeAttachmentState& state, const std::string& node,
                                  const std::string& message) = 0;
  // Any change of attached nodes (for the polycsi_attachments gauge).
  virtual void attachmentsChanged(const VolumeAttachmentState& state) = 0;
};

// Does nothing; for tests and for a driver without metrics or cluster.
class NullMigrationObserver : public MigrationObserver {
 public:
  void migrationStarted(const VolumeAttachmentState&, const std::string&,
                        const std::string&) override {}
  void migrationCompleted(const VolumeAttachmentState&, const std::string&, const std::string&,
                          std::chrono::milliseconds) override {}
  void migrationFailed(const VolumeAttachmentState&, const std::string&, const std::string&,
                       const std::string&, std::chrono::milliseconds) override {}
  void attachmentConflict(const VolumeAttachmentState&, const std::string&,
                          const std::string&) override {}
  void attachmentsChanged(const VolumeAttachmentState&) override {}
};

}  // namespace polycsi::attach
