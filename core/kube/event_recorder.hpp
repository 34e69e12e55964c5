// Posts migration lifecycle events to the PVC (docs/kubevirt-migration.md, "Monitoring"):
//   Normal  MigrationStarted    "[<pvc>]: KubeVirt live migration started - source: <a>,
//                                target: <b>, timeout: 5m0s"
//   Normal  MigrationCompleted  "[<pvc>]: KubeVirt live migration completed - source: <a> →
//                                target: <b> (duration: 45s)"
//   Warning MigrationFailed     "[<pvc>]: KubeVirt live migration failed - source: <a>,
//                                attempted target: <b>, reason: timeout, elapsed: 5m0s"
//   Warning AttachmentConflict  "[<pvc>]: <the refusal message>"
// Events are core/v1 Events on the PersistentVolumeClaim recorded in the state, with the
// claim's uid (read from the API server when posting), so `kubectl describe pvc`, which selects
// events by uid, shows them; a state without a PVC (volume created outside Kubernetes) gets
// none.
//
// Posting is asynchronous: observer calls only enqueue (they run on RPC threads), one worker
// thread posts. The queue is bounded; when full the oldest event is dropped with a warning.
// Event posting is best effort: a failed post is logged, not retried.
// THREADING: thread-safe. Does not own `client`, which must outlive the recorder.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "attach/migration_observer.hpp"
#include "kube/kube_client.hpp"

namespace polycsi::kube {

class EventRecorder : public attach::MigrationObserver {
 public:
  struct Options {
    size_t queueCapacity = 256;
    // How long stop() keeps posting queued events (a post in flight may add up to the client's
    // timeout).
    std::chrono::milliseconds drainTimeout{5000};
  };

  // `component` names the reporter, e.g. "polycsi-controller" (source.component and
  // reportingComponent). Starts the worker thread. Does not own `client`, which must outlive
  // the recorder. INVALID_ARGUMENT for an empty component or a queue capacity of 0.
  static StatusOr<std::unique_ptr<EventRecorder>> create(KubeClient& client, std::string component,
                                                         Options options);
  // The same with the default Options.
  static StatusOr<std::unique_ptr<EventRecorder>> create(KubeClient& client, std::string component);
  // Calls stop().
  ~EventRecorder() override;
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void migrationStarted(const attach::VolumeAttachmentState& state, const std::string& source,
                        const std::string& target) override;
  void migrationCompleted(const attach::VolumeAttachmentState& state, const std::string& source,
                          const std::string& target, std::chrono::milliseconds duration) override;
  void migrationFailed(const attach::VolumeAttachmentState& state, const std::string& source,
                       const std::string& target, const std::string& reason,
                       std::chrono::milliseconds elapsed) override;
  void attachmentConflict(const attach::VolumeAttachmentState& state, const std::string& node,
                          const std::string& message) override;
  // Not an event.
  void attachmentsChanged(const attach::VolumeAttachmentState& state) override;

  // A Warning event `reason` with `message` on the claim `pvc` of volume `volumeId`, for
  // problems found in a volume's recorded settings (none when the claim is unknown).
  void volumeWarning(const attach::PvcRef& pvc, const std::string& volumeId, const char* reason,
                     const std::string& message);
  // A Normal event `reason` with `message` on the claim `pvc` of volume `volumeId`, for a
  // change to the volume a CSI call made (e.g. ControllerModifyVolume; action "Modify").
  void volumeNormal(const attach::PvcRef& pvc, const std::string& volumeId, const char* reason,
                    const std::string& message);

  // Waits until every queued event has been posted (or dropped); false on timeout.
  bool waitIdle(std::chrono::milliseconds timeout);

  // Posts what is queued until Options::drainTimeout, drops the rest with a warning and joins
  // the worker. Later events are dropped. Idempotent.
  void stop();

 private:
  EventRecorder(KubeClient& client, std::string component, Options options);

  struct PendingEvent {
    std::string namespace_;
    nlohmann::json body;
  };

  // Sets involvedObject.uid from the claim (one GET) before the event is posted; leaves the
  // event without it, and says so, when the claim cannot be read.
  void addClaimUid(PendingEvent& event);
  void enqueue(const attach::VolumeAttachmentState& state, const char* type, const char* reason,
               const char* action, const std::string& message);
  void run();

  KubeClient& client_;
  const std::string component_;
  const std::string instance_;  // reportingInstance: this host
  const Options options_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<PendingEvent> queue_;
  bool posting_ = false;
  bool stopping_ = false;
  std::mutex joinMu_;  // serializes concurrent stop() calls
  std::thread worker_;
};

}  // namespace polycsi::kube
