// Keeps the attachment manager in line with the cluster's VolumeAttachments: the cluster is
// the truth about which node has which volume (the attacher writes status.attached), the
// manager is what the driver enforces. Needed after the attachment store was lost or a detach
// happened while the controller was down.
//
// One pass (reconcileOnce):
//   1. snapshot the manager, then list storage.k8s.io/v1 VolumeAttachments of `driverName` and
//      map each to its volume handle through its PersistentVolume (or inline volume spec) and
//      its Kubernetes node to the driver's CSI node id through the node's CSINode;
//   2. rebuild: every VolumeAttachment with status.attached == true and no deletionTimestamp
//      whose (volume handle, node id) the manager lacks is replayed through planPublish +
//      commitPublish, oldest first (creationTimestamp), so a migration's source comes before its
//      target and the window reopens, starting at the target's creationTimestamp (a lower
//      bound of the real start): a rebuild never extends a window. Its length is the one the
//      target's publish recorded in the VolumeAttachment's status.attachmentMetadata
//      (attach/recorded_window.hpp), so a VolumeAttributesClass changed during the migration
//      does not change it; without that record, the volume's current class decides;
//   3. forget: every attachment the manager had before the list that no VolumeAttachment of the
//      driver names (attached or still attaching) is fenced first: `fencer` closes the storage
//      fence (the plugin's unpublish, as ControllerUnpublishVolume does), and only then is the
//      record dropped (AttachmentManager::commitForget, which reports no migration outcome: the
//      detach happened outside this driver). A failed fence keeps the record, so DeleteVolume
//      still refuses and the next pass tries again; the pass then reports the failure.
//      Nothing is forgotten unless every VolumeAttachment could be mapped to its volume:
//      a failed list or PersistentVolume lookup must never detach anything.
// The manager knows a node by the driver's CSI node id ("node-a|rds_nvme=nqn...", the node's
// name and each plugin's identity; volume/volume_id.hpp), which the attacher read from the
// node's CSINode and passed to ControllerPublishVolume. A VolumeAttachment names the Kubernetes
// node (spec.nodeName) instead: step 1 maps that name to the id through the same CSINode, so
// both sides are compared as CSI node ids.
// A Kubernetes node whose CSINode (or its entry for this driver) is missing is unknown for now,
// never a different node: kubelet removes the entry while the node plugin re-registers (every
// DaemonSet rollout). Its VolumeAttachments are left for a later pass: no attachment recorded
// on that node (by the name part of its id) is forgotten, no volume with a VolumeAttachment on
// it is rebuilt, and the pass says so (UNAVAILABLE).
//
// THREADING: reconcileOnce() may run on any thread, one at a time; start()/stop() from one
// thread. Does not own the client, manager or locks, which must outlive the reconciler.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

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

// Closes the storage fence of volume `volumeHandle` for CSI node id `nodeId` (the plugin's
// unpublish), so that node can no longer reach the volume. OK only when the fence is closed
// (or the volume no longer exists); any error means the fence may still be open, e.g. when the
// volume's backend is not configured. Called with the volume's operation lock held (when the
// reconciler has locks); must be idempotent.
using Fencer = std::function<Status(const std::string& volumeHandle, const std::string& nodeId)>;

class VolumeAttachmentReconciler {
 public:
  // `locks` (optional) are the server's per-volume operation locks, keyed by volume id: a
  // volume with an operation in flight is left alone for this pass. Without them a publish
  // racing the pass may see its fence closed; the server always passes its locks.
  // INVALID_ARGUMENT for an empty driver name, resolver or fencer.
  static StatusOr<std::unique_ptr<VolumeAttachmentReconciler>> create(
      KubeClient& client, attach::AttachmentManager& manager, std::string driverName,
      PolicyResolver resolver, Fencer fencer, volume::VolumeLocks* locks = nullptr);
  // Calls stop().
  ~VolumeAttachmentReconciler();
  VolumeAttachmentReconciler(const VolumeAttachmentReconciler&) = delete;
  VolumeAttachmentReconciler& operator=(const VolumeAttachmentReconciler&) = delete;

  // One pass as described above. OK when the manager now matches the cluster; otherwise the
  // first problem (listing failed, a PersistentVolume or CSINode lookup failed, a node is
  // unknown for now, a replay was refused, a fence could not be closed), after doing whatever
  // could safely be done.
  Status reconcileOnce();

  // `callback` runs once, on the reconciling thread, at the end of the first pass that saw
  // every VolumeAttachment of the driver mapped to its volume and replayed what it could: from
  // then on the manager knows every attachment the cluster has. Call before start().
  void onFirstCompletePass(std::function<void()> callback);

  // Passes are numbered from 1 in the order they start. The number of the latest pass that
  // started, and of the latest that completed as onFirstCompletePass describes (0: none yet).
  // A caller that needs the cluster's attachments as of some moment waits for a complete pass
  // numbered above passesStarted() read at that moment. Thread-safe.
  uint64_t passesStarted() const { return passesStarted_.load(); }
  uint64_t lastCompletePass() const { return lastCompletePass_.load(); }

  // Decides, at each pass, whether the pass may fence and forget (step 3): a standby controller
  // replica rebuilds what the cluster shows but never closes a fence, which only the replica
  // serving the attacher may do. Unset: always. Call before start().
  void setFencingGate(std::function<bool()> mayFence);

  // Wakes the background thread for a pass now instead of after the period. Thread-safe.
  void requestPass();

  // Runs reconcileOnce() now and then every `period` on a background thread until stop();
  // until the first complete pass, every kUnsyncedRetry at most, since publishes wait for it.
  // Failures are logged. INVALID_ARGUMENT for a period that is not positive;
  // FAILED_PRECONDITION when started already and not stopped since.
  Status start(std::chrono::seconds period);
  static constexpr std::chrono::seconds kUnsyncedRetry{2};
  // Interrupts the wait between passes and joins the thread (a pass in progress finishes).
  // Idempotent.
  void stop();

 private:
  VolumeAttachmentReconciler(KubeClient& client, attach::AttachmentManager& manager,
                             std::string driverName, PolicyResolver resolver, Fencer fencer,
                             volume::VolumeLocks* locks);

  KubeClient& client_;
  attach::AttachmentManager& manager_;
  const std::string driverName_;
  const PolicyResolver resolver_;
  const Fencer fencer_;
  volume::VolumeLocks* locks_;

  struct ClusterAttachment;
  struct ClusterView;
  struct Lookups;

  // The steps of reconcileOnce(), in order.
  // 1. list: every VolumeAttachment, all pages; an error when any page cannot be read.
  StatusOr<std::vector<nlohmann::json>> listVolumeAttachments();
  // 2. map: the driver's VolumeAttachments mapped to (volume handle, CSI node id), oldest
  // first; what cannot be mapped makes the view incomplete.
  ClusterView mapToVolumes(const std::vector<nlohmann::json>& items);
  std::optional<ClusterAttachment> mapAttachment(const nlohmann::json& item, Lookups& lookups,
                                                 ClusterView& view);
  void reportUnknownNodes(ClusterView& view) const;
  // 3. rebuild: replays the attached VolumeAttachments the manager lacks. True when a busy
  // volume was left for the next pass.
  bool rebuild(ClusterView& view);
  void rebuildVolume(const std::string& volumeHandle,
                     const std::vector<const ClusterAttachment*>& entries, ClusterView& view);
  // 4. forget: fences and drops the attachments of `before` no VolumeAttachment names.
  void forget(const std::vector<attach::VolumeAttachmentState>& before, ClusterView& view);
  void forgetAttachment(const std::string& volumeId, const std::string& node, ClusterView& view);

  // The driver's CSI node id on Kubernetes node `nodeName`, from its CSINode object; nullopt
  // while the node has no CSINode or no entry for this driver (unknown for now); an error when
  // the CSINode cannot be read.
  StatusOr<std::optional<std::string>> csiNodeIdOf(const std::string& nodeName);

  std::mutex passMu_;                      // one pass at a time
  std::function<void()> onFirstComplete_;  // guarded by passMu_
  std::atomic<bool> synced_{false};        // a complete pass has run
  std::function<bool()> mayFence_;         // set before start(); read by passes
  std::atomic<uint64_t> passesStarted_{0};
  std::atomic<uint64_t> lastCompletePass_{0};

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool passRequested_ = false;
  std::thread thread_;
};

}  // namespace polycsi::kube
