#include "sidecar_contracts.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "csi.grpc.pb.h"

namespace polycsi::testing {
namespace {

using ControllerRpc = csi::v1::ControllerServiceCapability::RPC;
using NodeRpc = csi::v1::NodeServiceCapability::RPC;

// The shared start-up steps live in csi-lib-utils, vendored by every sidecar; the paths below
// are vendor/github.com/kubernetes-csi/csi-lib-utils/rpc/common.go at each sidecar's tag:
//   ProbeForever: Probe until ready; an error other than DEADLINE_EXCEEDED returns an error
//     (the sidecar then exits); ready=false waits forever (the sidecar never starts).
//   GetDriverName: GetPluginInfo; an error or an empty name is an error.
//   GetPluginCapabilities / GetControllerCapabilities: an error is an error.

class Replay {
 public:
  explicit Replay(const std::shared_ptr<grpc::Channel>& channel, std::string who)
      : identity_(csi::v1::Identity::NewStub(channel)),
        controller_(csi::v1::Controller::NewStub(channel)),
        node_(csi::v1::Node::NewStub(channel)),
        groupController_(csi::v1::GroupController::NewStub(channel)),
        who_(std::move(who)) {}

  StartupVerdict verdict;

  // Each step returns false once the sidecar would exit; `exitPath` cites the source.
  bool probeForever(const std::string& exitPath) {
    csi::v1::ProbeResponse resp;
    auto s = call("Probe", [&](grpc::ClientContext* c) {
      return identity_->Probe(c, csi::v1::ProbeRequest(), &resp);
    });
    if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED)
      return exits("Probe answered " + describe(s), exitPath);
    if (!s.ok() || (resp.has_ready() && !resp.ready().value()))
      return exits("Probe never answers ready, so ProbeForever waits forever", exitPath);
    return true;
  }

  bool driverName(const std::string& exitPath) {
    csi::v1::GetPluginInfoResponse resp;
    auto s = call("GetPluginInfo", [&](grpc::ClientContext* c) {
      return identity_->GetPluginInfo(c, csi::v1::GetPluginInfoRequest(), &resp);
    });
    if (!s.ok()) return exits("GetPluginInfo answered " + describe(s), exitPath);
    if (resp.name().empty()) return exits("GetPluginInfo answered an empty name", exitPath);
    return true;
  }

  // The plugin's CONTROLLER_SERVICE, or nullopt after an error (the sidecar exits).
  std::optional<bool> controllerService(const std::string& exitPath) {
    csi::v1::GetPluginCapabilitiesResponse resp;
    auto s = call("GetPluginCapabilities", [&](grpc::ClientContext* c) {
      return identity_->GetPluginCapabilities(c, csi::v1::GetPluginCapabilitiesRequest(), &resp);
    });
    if (!s.ok()) {
      exits("GetPluginCapabilities answered " + describe(s), exitPath);
      return std::nullopt;
    }
    for (const auto& cap : resp.capabilities())
      if (cap.service().type() == csi::v1::PluginCapability::Service::CONTROLLER_SERVICE)
        return true;
    return false;
  }

  std::optional<std::set<int>> controllerCapabilities(const std::string& exitPath) {
    csi::v1::ControllerGetCapabilitiesResponse resp;
    auto s = call("ControllerGetCapabilities", [&](grpc::ClientContext* c) {
      return controller_->ControllerGetCapabilities(c, csi::v1::ControllerGetCapabilitiesRequest(),
                                                    &resp);
    });
    if (!s.ok()) {
      exits("ControllerGetCapabilities answered " + describe(s), exitPath);
      return std::nullopt;
    }
    std::set<int> out;
    for (const auto& cap : resp.capabilities()) out.insert(cap.rpc().type());
    return out;
  }

  std::optional<std::set<int>> nodeCapabilities(const std::string& exitPath) {
    csi::v1::NodeGetCapabilitiesResponse resp;
    auto s = call("NodeGetCapabilities", [&](grpc::ClientContext* c) {
      return node_->NodeGetCapabilities(c, csi::v1::NodeGetCapabilitiesRequest(), &resp);
    });
    if (!s.ok()) {
      exits("NodeGetCapabilities answered " + describe(s), exitPath);
      return std::nullopt;
    }
    std::set<int> out;
    for (const auto& cap : resp.capabilities()) out.insert(cap.rpc().type());
    return out;
  }

  // The group controller's capabilities, or nullopt after an error (which the caller judges:
  // csi-snapshotter v8.6.0 only logs it).
  std::optional<std::set<int>> groupControllerCapabilities() {
    csi::v1::GroupControllerGetCapabilitiesResponse resp;
    auto s = call("GroupControllerGetCapabilities", [&](grpc::ClientContext* c) {
      return groupController_->GroupControllerGetCapabilities(
          c, csi::v1::GroupControllerGetCapabilitiesRequest(), &resp);
    });
    if (!s.ok()) return std::nullopt;
    std::set<int> out;
    for (const auto& cap : resp.capabilities()) out.insert(cap.rpc().type());
    return out;
  }

  bool nodeInfo(const std::string& exitPath) {
    csi::v1::NodeGetInfoResponse resp;
    auto s = call("NodeGetInfo", [&](grpc::ClientContext* c) {
      return node_->NodeGetInfo(c, csi::v1::NodeGetInfoRequest(), &resp);
    });
    if (!s.ok()) return exits("NodeGetInfo answered " + describe(s), exitPath);
    if (resp.node_id().empty()) return exits("NodeGetInfo answered an empty node_id", exitPath);
    if (resp.max_volumes_per_node() < 0)
      return exits("NodeGetInfo answered a negative max_volumes_per_node", exitPath);
    return true;
  }

  bool exits(const std::string& answer, const std::string& exitPath) {
    verdict.starts = false;
    verdict.reason = who_ + ": " + answer + " -> " + exitPath;
    return false;
  }

 private:
  grpc::Status call(const std::string& name,
                    const std::function<grpc::Status(grpc::ClientContext*)>& rpc) {
    verdict.calls.push_back(name);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return rpc(&ctx);
  }
  static std::string describe(const grpc::Status& s) {
    static const std::map<grpc::StatusCode, const char*> kNames = {
        {grpc::StatusCode::INVALID_ARGUMENT, "INVALID_ARGUMENT"},
        {grpc::StatusCode::NOT_FOUND, "NOT_FOUND"},
        {grpc::StatusCode::FAILED_PRECONDITION, "FAILED_PRECONDITION"},
        {grpc::StatusCode::UNIMPLEMENTED, "UNIMPLEMENTED"},
        {grpc::StatusCode::INTERNAL, "INTERNAL"},
        {grpc::StatusCode::UNAVAILABLE, "UNAVAILABLE"},
        {grpc::StatusCode::DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED"}};
    auto it = kNames.find(s.error_code());
    const std::string code =
        it != kNames.end() ? it->second : "code " + std::to_string(s.error_code());
    return code + " (" + s.error_message() + ")";
  }

  std::unique_ptr<csi::v1::Identity::Stub> identity_;
  std::unique_ptr<csi::v1::Controller::Stub> controller_;
  std::unique_ptr<csi::v1::Node::Stub> node_;
  std::unique_ptr<csi::v1::GroupController::Stub> groupController_;
  std::string who_;
};

// external-provisioner v5.1.0, cmd/csi-provisioner/csi-provisioner.go main(): ctrl.Probe
// (ProbeForever) -> os.Exit(1); ctrl.GetDriverName -> klog.Fatalf; ctrl.GetDriverCapabilities
// (GetPluginCapabilities, then ControllerGetCapabilities; pkg/controller/controller.go) ->
// klog.Fatalf. A missing CONTROLLER_SERVICE or CREATE_DELETE_VOLUME does not exit: each
// Provision fails instead (pkg/controller/controller.go checkDriverCapabilities), which counts
// as failing here too.
// NodeGetInfo is called only with --enable-node-deployment, which deploy/ does not set.
void provisionerV5_1_0(Replay& r) {
  const std::string at = "external-provisioner v5.1.0 cmd/csi-provisioner/csi-provisioner.go";
  if (!r.probeForever("exits (" + at + ": ctrl.Probe -> os.Exit(1))")) return;
  if (!r.driverName("exits (" + at + ": GetDriverName -> klog.Fatalf)")) return;
  const std::string provisionFails =
      "every Provision fails (external-provisioner v5.1.0 pkg/controller/controller.go "
      "checkDriverCapabilities)";
  auto service = r.controllerService("exits (" + at + ": GetDriverCapabilities -> klog.Fatalf)");
  if (!service) return;
  auto caps = r.controllerCapabilities("exits (" + at + ": GetDriverCapabilities -> klog.Fatalf)");
  if (!caps) return;
  if (!*service)
    r.exits("GetPluginCapabilities lacks CONTROLLER_SERVICE", provisionFails);
  else if (!caps->count(ControllerRpc::CREATE_DELETE_VOLUME))
    r.exits("ControllerGetCapabilities lacks CREATE_DELETE_VOLUME", provisionFails);
}

// external-attacher v4.7.0, cmd/csi-attacher/main.go main(): rpc.ProbeForever ->
// FlushAndExit(1); rpc.GetDriverName -> FlushAndExit(1); supportsPluginControllerService
// (GetPluginCapabilities) error -> FlushAndExit(1); without CONTROLLER_SERVICE, or (via
// supportsControllerCapabilities: ControllerGetCapabilities, error -> FlushAndExit(1)) without
// PUBLISH_UNPUBLISH_VOLUME, it runs controller.NewTrivialHandler: VolumeAttachments are marked
// attached without ControllerPublishVolume, so polycsi's fencing and migration window would
// never run. polycsi needs the real handler, so that counts as failing here.
void attacherV4_7_0(Replay& r) {
  const std::string at = "external-attacher v4.7.0 cmd/csi-attacher/main.go";
  if (!r.probeForever("exits (" + at + ": rpc.ProbeForever -> FlushAndExit(1))")) return;
  if (!r.driverName("exits (" + at + ": rpc.GetDriverName -> FlushAndExit(1))")) return;
  auto service =
      r.controllerService("exits (" + at + ": supportsPluginControllerService -> FlushAndExit(1))");
  if (!service) return;
  if (!*service) {
    r.exits("GetPluginCapabilities lacks CONTROLLER_SERVICE",
            "runs NewTrivialHandler and never calls ControllerPublishVolume (" + at + ")");
    return;
  }
  auto caps = r.controllerCapabilities("exits (" + at +
                                       ": supportsControllerCapabilities -> FlushAndExit(1))");
  if (caps && !caps->count(ControllerRpc::PUBLISH_UNPUBLISH_VOLUME))
    r.exits("ControllerGetCapabilities lacks PUBLISH_UNPUBLISH_VOLUME",
            "runs NewTrivialHandler and never calls ControllerPublishVolume (" + at + ")");
}

// external-resizer v1.12.0: cmd/csi-resizer/main.go main(): csi.New (pkg/csi/client.go:
// ProbeForever) error -> FlushAndExit(1); getDriverName -> FlushAndExit(1);
// resizer.NewResizerFromClient (pkg/resizer/csi_resizer.go) error -> FlushAndExit(1):
//   SupportsPluginControllerService (GetPluginCapabilities) error, or no CONTROLLER_SERVICE;
//   SupportsControllerResize (ControllerGetCapabilities) error;
//   without controller EXPAND_VOLUME: SupportsNodeResize, NodeGetCapabilities ON THE CONTROLLER
//   SOCKET, error, or no node EXPAND_VOLUME ("neither supports controller resize nor node
//   resize");
//   with it: SupportsControllerSingleNodeMultiWriter (ControllerGetCapabilities) error;
// then modifier.NewModifierFromClient (pkg/modifier/csi_modifier.go): SupportsControllerModify
// (ControllerGetCapabilities) error -> FlushAndExit(1).
void resizerV1_12_0(Replay& r) {
  const std::string main = "external-resizer v1.12.0 cmd/csi-resizer/main.go";
  const std::string resizer =
      "exits (external-resizer v1.12.0 pkg/resizer/csi_resizer.go NewResizerFromClient -> " + main +
      " FlushAndExit(1))";
  if (!r.probeForever("exits (" + main + ": csi.New ProbeForever -> FlushAndExit(1))")) return;
  if (!r.driverName("exits (" + main + ": getDriverName -> FlushAndExit(1))")) return;
  auto service = r.controllerService(resizer);
  if (!service) return;
  if (!*service) {
    r.exits("GetPluginCapabilities lacks CONTROLLER_SERVICE", resizer);
    return;
  }
  auto caps = r.controllerCapabilities(resizer);
  if (!caps) return;
  if (!caps->count(ControllerRpc::EXPAND_VOLUME)) {
    auto node = r.nodeCapabilities(resizer);
    if (!node) return;
    if (!node->count(NodeRpc::EXPAND_VOLUME)) {
      r.exits("neither ControllerGetCapabilities nor NodeGetCapabilities has EXPAND_VOLUME",
              resizer);
      return;
    }
  } else if (!r.controllerCapabilities(resizer)) {
    return;
  }
  r.controllerCapabilities(
      "exits (external-resizer v1.12.0 pkg/modifier/csi_modifier.go NewModifierFromClient -> " +
      main + " FlushAndExit(1))");
}

// external-snapshotter v8.1.0, cmd/csi-snapshotter/main.go main(): csirpc.GetDriverName
// (before probing) -> os.Exit(1); csirpc.ProbeForever -> os.Exit(1);
// supportsControllerCreateSnapshot (ControllerGetCapabilities) error -> os.Exit(1), and without
// CREATE_DELETE_SNAPSHOT: "CSI driver ... does not support ControllerCreateSnapshot",
// os.Exit(1).
void snapshotterV8_1_0(Replay& r) {
  const std::string at = "external-snapshotter v8.1.0 cmd/csi-snapshotter/main.go";
  if (!r.driverName("exits (" + at + ": csirpc.GetDriverName -> os.Exit(1))")) return;
  if (!r.probeForever("exits (" + at + ": csirpc.ProbeForever -> os.Exit(1))")) return;
  auto caps = r.controllerCapabilities("exits (" + at +
                                       ": supportsControllerCreateSnapshot -> os.Exit(1))");
  if (caps && !caps->count(ControllerRpc::CREATE_DELETE_SNAPSHOT))
    r.exits("ControllerGetCapabilities lacks CREATE_DELETE_SNAPSHOT",
            "exits (" + at + ": \"does not support ControllerCreateSnapshot\", os.Exit(1))");
}

// external-snapshotter v8.6.0, cmd/csi-snapshotter/main.go main(): the same exits as v8.1.0;
// then, with --feature-gates=CSIVolumeGroupSnapshot=true (as deploy/ runs it),
// supportsGroupControllerCreateVolumeGroupSnapshot (GroupControllerGetCapabilities): an error
// is only logged and a missing CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT only warned about. The
// sidecar runs, but every VolumeGroupSnapshot of the overlay's VolumeGroupSnapshotClass would
// fail: counted as failing.
void snapshotterV8_6_0(Replay& r) {
  const std::string at = "external-snapshotter v8.6.0 cmd/csi-snapshotter/main.go";
  if (!r.driverName("exits (" + at + ": csirpc.GetDriverName -> os.Exit(1))")) return;
  if (!r.probeForever("exits (" + at + ": csirpc.ProbeForever -> os.Exit(1))")) return;
  auto caps = r.controllerCapabilities("exits (" + at +
                                       ": supportsControllerCreateSnapshot -> os.Exit(1))");
  if (!caps) return;
  if (!caps->count(ControllerRpc::CREATE_DELETE_SNAPSHOT)) {
    r.exits("ControllerGetCapabilities lacks CREATE_DELETE_SNAPSHOT",
            "exits (" + at + ": \"does not support ControllerCreateSnapshot\", os.Exit(1))");
    return;
  }
  auto group = r.groupControllerCapabilities();
  if (!group ||
      !group->count(
          csi::v1::GroupControllerServiceCapability::RPC::CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT))
    r.exits("GroupControllerGetCapabilities " +
                std::string(group ? "lacks CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT" : "failed"),
            "runs, but every VolumeGroupSnapshot fails (" + at +
                ": supportsGroupControllerCreateVolumeGroupSnapshot only warns)");
}

// node-driver-registrar v2.12.0, cmd/csi-node-driver-registrar/main.go main():
// csirpc.GetDriverName -> FlushAndExit(1). Then kubelet, registering the plugin
// (kubernetes pkg/volume/csi/csi_plugin.go RegisterPlugin), calls NodeGetInfo on the same
// socket; a failed registration reaches the registrar's NotifyRegistrationStatus (main.go),
// which calls os.Exit(1) ("Registration process failed ... restarting registration
// container").
void registrarV2_12_0(Replay& r) {
  const std::string at = "node-driver-registrar v2.12.0 cmd/csi-node-driver-registrar/main.go";
  if (!r.driverName("exits (" + at + ": csirpc.GetDriverName -> FlushAndExit(1))")) return;
  r.nodeInfo("kubelet's registration fails and the registrar exits (" + at +
             ": NotifyRegistrationStatus -> os.Exit(1))");
}

// livenessprobe v2.14.0, cmd/livenessprobe/main.go main(): rpc.GetDriverName ->
// FlushAndExit(1). Its /healthz (checkProbe) answers 500 when Probe errs or is not ready, and
// kubelet then restarts the polycsi container.
void livenessProbeV2_14_0(Replay& r) {
  const std::string at = "livenessprobe v2.14.0 cmd/livenessprobe/main.go";
  if (!r.driverName("exits (" + at + ": rpc.GetDriverName -> FlushAndExit(1))")) return;
  r.probeForever("/healthz answers 500 and kubelet restarts polycsi (" + at + " checkProbe)");
}

// external-health-monitor v0.18.0, cmd/csi-external-health-monitor-controller/main.go main():
// rpc.ProbeForever -> FlushAndExit(1); rpc.GetDriverName -> FlushAndExit(1);
// supportsPluginControllerService (GetPluginCapabilities) error or no CONTROLLER_SERVICE ->
// FlushAndExit(1); supportControllerListVolumes, supportControllerGetVolume and
// supportControllerVolumeCondition (three ControllerGetCapabilities) error -> FlushAndExit(1);
// neither LIST_VOLUMES nor GET_VOLUME, or no VOLUME_CONDITION: "CSI driver does not support
// Controller ListVolumes and GetVolume service or does not implement VolumeCondition, exiting".
void healthMonitorV0_18_0(Replay& r) {
  const std::string at =
      "external-health-monitor v0.18.0 cmd/csi-external-health-monitor-controller/main.go";
  const std::string exits = "exits (" + at + " -> FlushAndExit(1))";
  if (!r.probeForever("exits (" + at + ": rpc.ProbeForever -> FlushAndExit(1))")) return;
  if (!r.driverName("exits (" + at + ": rpc.GetDriverName -> FlushAndExit(1))")) return;
  auto service = r.controllerService(exits);
  if (!service) return;
  if (!*service) {
    r.exits("GetPluginCapabilities lacks CONTROLLER_SERVICE", exits);
    return;
  }
  std::optional<std::set<int>> caps;
  for (int i = 0; i < 3; ++i)
    if (!(caps = r.controllerCapabilities(exits))) return;
  if (!caps->count(ControllerRpc::LIST_VOLUMES) && !caps->count(ControllerRpc::GET_VOLUME)) {
    r.exits("ControllerGetCapabilities has neither LIST_VOLUMES nor GET_VOLUME", exits);
    return;
  }
  if (!caps->count(ControllerRpc::VOLUME_CONDITION))
    r.exits("ControllerGetCapabilities lacks VOLUME_CONDITION", exits);
}

using Contract = void (*)(Replay&);

const std::map<std::pair<std::string, std::string>, Contract>& contracts() {
  static const std::map<std::pair<std::string, std::string>, Contract> kContracts = {
      {{"csi-provisioner", "v5.1.0"}, provisionerV5_1_0},
      {{"csi-attacher", "v4.7.0"}, attacherV4_7_0},
      {{"csi-resizer", "v1.12.0"}, resizerV1_12_0},
      {{"csi-snapshotter", "v8.1.0"}, snapshotterV8_1_0},
      {{"csi-snapshotter", "v8.6.0"}, snapshotterV8_6_0},
      {{"csi-node-driver-registrar", "v2.12.0"}, registrarV2_12_0},
      {{"livenessprobe", "v2.14.0"}, livenessProbeV2_14_0},
      {{"csi-external-health-monitor-controller", "v0.18.0"}, healthMonitorV0_18_0},
  };
  return kContracts;
}

}  // namespace

bool isKnownSidecar(const std::string& imageName) {
  for (const auto& [key, contract] : contracts())
    if (key.first == imageName) return true;
  return false;
}

std::optional<StartupVerdict> replayStartup(const std::string& imageName, const std::string& tag,
                                            const std::shared_ptr<grpc::Channel>& channel) {
  auto it = contracts().find({imageName, tag});
  if (it == contracts().end()) return std::nullopt;
  Replay replay(channel, imageName + ":" + tag);
  it->second(replay);
  return replay.verdict;
}

}  // namespace polycsi::testing
