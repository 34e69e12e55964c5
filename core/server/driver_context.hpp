// Everything the CSI services share: configuration, running backends, locks, the attachment
// manager, node-side helpers and metrics. Built once by DriverServer; outlives every RPC.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "attach/attachment_manager.hpp"
#include "config/driver_config.hpp"
#include "config/node_profile.hpp"
#include "kube/controller_leadership.hpp"
#include "kube/event_recorder.hpp"
#include "kube/kube_client.hpp"
#include "node/luks_devices.hpp"
#include "node/mounter.hpp"
#include "observe/metrics.hpp"
#include "plugin_host/backend_registry.hpp"
#include "server/call_cancellation.hpp"
#include "server/node_volume_records.hpp"
#include "volume/volume_locks.hpp"

namespace polycsi::server {

enum class DriverMode { kAll, kController, kNode };

struct DriverContext {
  config::DriverConfig config;
  DriverMode mode = DriverMode::kAll;
  std::string nodeName;  // Kubernetes node name of this process (node mode)
  // Node modes: what NodeGetInfo reports and which backends this node reaches; set at start,
  // before the services, and never changed.
  config::NodeProfile nodeProfile;
  std::string version;  // polycsi's version, reported by GetPluginInfo

  // Every CSI call and plugin metric is counted here, also without --metrics-address (which
  // only decides whether /metrics serves it). Declared before `backends`, whose plugins report
  // into it until they are shut down.
  observe::Metrics metrics;
  plugin_host::BackendRegistry backends;
  attach::AttachmentManager* attachments = nullptr;  // controller modes only
  kube::KubeClient* kube = nullptr;                  // controller modes with a Kubernetes API
  kube::EventRecorder* events = nullptr;             // controller modes with a Kubernetes API
  // With several controller replicas: whether this one may change attachments. Null otherwise.
  kube::ControllerLeadership* leadership = nullptr;
  std::unique_ptr<node::Mounter> mounter;          // node modes only
  std::unique_ptr<node::LuksDevices> luks;         // node modes only
  std::unique_ptr<NodeVolumeRecords> nodeRecords;  // node modes only

  volume::VolumeLocks controllerLocks;  // per volume id (and "name/<csi name>" at create)
  volume::VolumeLocks nodeLocks;        // per volume id

  // Every RPC's cancellation flag (polycsi_call.cancelled); cancelAll() at shutdown.
  CallCancellation cancellation;
  std::atomic<bool> ready{false};
  // False from start-up until the first complete VolumeAttachment reconciliation (only with a
  // Kubernetes API): until then the attachment manager may lack attachments the cluster has
  // (a lost state store, a detach while the controller was down), so nothing that reads or
  // changes attachments may answer. Always true without a Kubernetes API.
  std::atomic<bool> attachmentsKnown{true};

  // Probe and /healthz: serving, and the attachments are known.
  bool serving() const { return ready.load() && attachmentsKnown.load(); }

  bool servesController() const { return mode != DriverMode::kNode; }
  bool servesNode() const { return mode != DriverMode::kController; }
};

}  // namespace polycsi::server
