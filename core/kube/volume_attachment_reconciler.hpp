// Keeps the attachment manager in line with the cluster's VolumeAttachments: the cluster is
// the truth about which node has which volume (the attacher writes status.attached), the
// manager is what the driver enforces. Needed after the attachment store was lost or a detach
// happened while the controller was down.
//
// One pass (reconcileOnce):
//   1. snapshot the manager, then list storage.k8s.io/v1 VolumeAttachments of `driverName` and
//      map each to its volume handle through its PersistentVolume (or inline volume spec);
//   2. rebuild: every VolumeAttachment with status.attached == true and no deletionTimestamp
//      whose (volume handle, node) the manager lacks is replayed through planPublish +
//      commitPublish, oldest first (creationTimestamp), so a migration's source comes before its
//      target and the window reopens, starting at the target's creationTimestamp (a lower
//      bound of the real start): a rebuild never extends a window;
//   3. forget: every attachment the manager had before the list that no VolumeAttachment of the
//      driver names (attached or still attaching) is dropped with AttachmentManager::forget().
//      Nothing is forgotten unless every VolumeAttachment could be mapped to its volume:
//      a failed list or PersistentVolume lookup must never detach anything.
// Node names are Kubernetes node names on both sides (spec.nodeName; the server records the
// node id's name in the manager).
//
// THREADING: reconcileOnce() may run on any thread, one at a time; start()/stop() from one
// thread. Does not own the client, manager or locks, which must outlive the reconciler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "attach/attachment_manager.hpp"
#include "kube/kube_client.hpp"
#include "polycsi/types.hpp"
#include "volume/volume_locks.hpp"

namespace polycsi::kube {

// What the manager needs to replay a publish of one volume.
struct ResolvedVolume {
  attach::VolumePolicy policy;
  std::string backend;
  std::string metricsPrefix;
  attach::PvcRef pvc;
};

// Maps a volume handle and its PersistentVolume object (for an inline volume:
// {"spec": <inlineVolumeSpec>}) to the policy its attachments were granted under.
using PolicyResolver = std::function<StatusOr<ResolvedVolume>(const std::string& volumeHandle,
                                                              const nlohmann::json& pv)>;

class VolumeAttachmentReconciler {
 public:
  // `locks` (optional) are the server's per-volume operation locks, keyed by volume id: a
  // volume with an operation in flight is left alone for this pass.
  VolumeAttachmentReconciler(KubeClient& client, attach::AttachmentManager& manager,
                             std::string driverName, PolicyResolver resolver,
                             volume::VolumeLocks* locks = nullptr);
  // Calls stop().
  ~VolumeAttachmentReconciler();
  VolumeAttachmentReconciler(const VolumeAttachmentReconciler&) = delete;
  VolumeAttachmentReconciler& operator=(const VolumeAttachmentReconciler&) = delete;

  // One pass as described above. OK when the manager now matches the cluster; otherwise the
  // first problem (listing failed, a PersistentVolume lookup failed, a replay was refused),
  // after doing whatever could safely be done.
  Status reconcileOnce();

  // `callback` runs once, on the reconciling thread, at the end of the first pass that saw
  // every VolumeAttachment of the driver mapped to its volume and replayed what it could: from
  // then on the manager knows every attachment the cluster has. Call before start().
  void onFirstCompletePass(std::function<void()> callback);

  // Runs reconcileOnce() now and then every `period` on a background thread until stop();
  // until the first complete pass, every kUnsyncedRetry at most, since publishes wait for it.
  // Failures are logged. Calling start() twice without stop() throws std::logic_error.
  void start(std::chrono::seconds period);
  static constexpr std::chrono::seconds kUnsyncedRetry{2};
  // Interrupts the wait between passes and joins the thread (a pass in progress finishes).
  // Idempotent.
  void stop();

 private:
  KubeClient& client_;
  attach::AttachmentManager& manager_;
  const std::string driverName_;
  const PolicyResolver resolver_;
  volume::VolumeLocks* locks_;

  // The driver's CSI node id on Kubernetes node `nodeName`, from its CSINode object; the bare
  // name when the node has no CSINode entry for this driver (its node id is then the name).
  StatusOr<std::string> csiNodeIdOf(const std::string& nodeName);

  std::mutex passMu_;                      // one pass at a time
  std::function<void()> onFirstComplete_;  // guarded by passMu_
  std::atomic<bool> synced_{false};        // a complete pass has run

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace polycsi::kube
