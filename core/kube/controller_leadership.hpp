// Two controller replicas: which one may change attachments.
//
// Both replicas run polycsi and the CSI sidecars; each sidecar elects its own leader through a
// coordination.k8s.io/v1 Lease (kubernetes-csi/csi-lib-utils leaderelection, used by
// external-attacher v4.7.0 with --leader-election). ControllerPublishVolume and
// ControllerUnpublishVolume come only from external-attacher, and each attacher talks to the
// polycsi of its own pod, so the replica whose attacher holds the lease
// "external-attacher-leader-<driver name, sanitized>" is the one that decides attachments. Its
// identity there is the pod's hostname (os.Hostname(), sanitized), which polycsi reads the
// same way in the same pod.
//
// This replica therefore:
//   - polls that Lease (GET) every pollPeriod; it leads while spec.holderIdentity is its own
//     identity. A failed read counts as not leading: publishes wait (UNAVAILABLE, retried by
//     the attacher) rather than be decided on a view that may be stale;
//   - on taking the lease asks the reconciler for a pass at once, and allows publishes and
//     unpublishes only after a complete pass that started after it took the lease: a standby's
//     attachments are only as fresh as its last pass, while the old leader may have attached
//     and detached since. A rebuilt migration keeps its target VolumeAttachment's creation time
//     as its start and the length its publish recorded there (attach/recorded_window.hpp), so a
//     takeover never lengthens a window, even after its VolumeAttributesClass changed;
//   - fences and forgets (reconciler step 3) only while leading: a standby never closes a fence
//     the leader may just have opened.
// DeleteVolume comes from external-provisioner, whose lease may be held by the other replica:
// on a standby it runs a pass first (refreshIfStandby), so its "still attached" check sees the
// cluster as it is now.
//
// THREADING: thread-safe; start()/stop() from one thread. Does not own the client or the
// reconciler, which must outlive it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kube/kube_client.hpp"
#include "kube/volume_attachment_reconciler.hpp"
#include "polycsi/types.hpp"

namespace polycsi::kube {

// `name` as csi-lib-utils' sanitizeName makes a lease name or identity of it: every character
// outside [a-zA-Z0-9-] becomes '-', and a trailing '-' gets an "X" appended.
std::string sanitizeLeaderElectionName(const std::string& name);

// The Lease external-attacher elects its leader with for `driverName`.
std::string attacherLeaseName(const std::string& driverName);

class ControllerLeadership {
 public:
  struct Options {
    std::string leaseNamespace;  // --leader-election-namespace of the attacher
    std::string leaseName;       // attacherLeaseName(driver)
    std::string identity;        // this pod's hostname, sanitized
    std::chrono::milliseconds pollPeriod{2000};
  };

  // INVALID_ARGUMENT naming the option for an empty or malformed namespace, lease name or
  // identity, or a period that is not positive. Installs the fencing gate on `reconciler`
  // (call before the reconciler starts). Reads nothing yet: not leading until a poll says so.
  static StatusOr<std::unique_ptr<ControllerLeadership>> create(
      KubeClient& client, VolumeAttachmentReconciler& reconciler, Options options);
  ~ControllerLeadership();  // calls stop()
  ControllerLeadership(const ControllerLeadership&) = delete;
  ControllerLeadership& operator=(const ControllerLeadership&) = delete;

  // Reads the Lease once and updates the state; on taking it, asks the reconciler for a pass.
  // The read's error, if any (the state is then "not leading").
  Status pollOnce();
  // Polls now and every pollPeriod on a background thread until stop(). FAILED_PRECONDITION
  // when already started.
  Status start();
  void stop();  // idempotent

  bool leading() const { return leading_.load(); }
  // OK when this replica may publish or unpublish: it leads and a complete reconciliation pass
  // started after it took the lease. UNAVAILABLE saying which of the two is missing.
  Status mayChangeAttachments(const std::string& what) const;
  // On a standby: one reconciliation pass now, so that a check of the attachments that
  // follows sees the cluster as it is. OK at once when leading (the reconciler and this
  // replica's own publishes keep it current). UNAVAILABLE when the pass is incomplete.
  Status refreshIfStandby(const std::string& what);

 private:
  ControllerLeadership(KubeClient& client, VolumeAttachmentReconciler& reconciler, Options options);

  KubeClient& client_;
  VolumeAttachmentReconciler& reconciler_;
  const Options options_;

  std::atomic<bool> leading_{false};
  std::atomic<uint64_t> requiredPass_{0};  // the first pass that counts since taking the lease
  std::mutex pollMu_;                      // one poll at a time

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace polycsi::kube
