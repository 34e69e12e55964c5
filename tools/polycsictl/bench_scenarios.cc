#include "bench_scenarios.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "rpc_status.hpp"

namespace polycsi::csictl {
namespace {

using AccessMode = csi::v1::VolumeCapability::AccessMode;
using ControllerRpc = csi::v1::ControllerServiceCapability::RPC;
using NodeRpc = csi::v1::NodeServiceCapability::RPC;

// Steps done so far, undone in reverse order when a later step fails. Undo calls are not
// measured: they only keep a failed iteration from leaking volumes, attachments or mounts.
class UndoStack {
 public:
  void push(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
  // Runs every pending undo, newest first.
  void unwind() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
    undo_.clear();
  }
  // The step that a pushed undo stands for completed normally: forget it.
  void pop() { undo_.pop_back(); }

 private:
  std::vector<std::function<void()>> undo_;
};

[[noreturn]] void discoveryFailed(const std::string& rpc, const grpc::Status& status) {
  throw std::runtime_error(rpc + " failed: " + formatRpcError(status));
}

csi::v1::VolumeCapability capabilityFor(const BenchPlan& plan, bool block, AccessMode::Mode mode) {
  csi::v1::VolumeCapability capability;
  if (block) {
    capability.mutable_block();
  } else {
    capability.mutable_mount()->set_fs_type(plan.fs_type);
  }
  capability.mutable_access_mode()->set_mode(mode);
  return capability;
}

csi::v1::CreateVolumeRequest createRequest(const BenchPlan& plan, const std::string& name,
                                           const csi::v1::VolumeCapability& capability) {
  csi::v1::CreateVolumeRequest request;
  request.set_name(name);
  request.mutable_capacity_range()->set_required_bytes(plan.size_bytes);
  *request.add_volume_capabilities() = capability;
  for (const auto& [key, value] : plan.parameters) (*request.mutable_parameters())[key] = value;
  return request;
}

// mkdir that tolerates an existing directory; false (with errno kept) on any other failure.
bool makeDirectory(const std::string& path) {
  return ::mkdir(path.c_str(), 0750) == 0 || errno == EEXIST;
}

}  // namespace

DriverFacts discoverDriverFacts(CsiConnection& node, CsiConnection& controller,
                                const BenchPlan& plan) {
  DriverFacts facts;
  {
    csi::v1::GetPluginInfoResponse info;
    const auto call = node.newCallContext();
    const grpc::Status status =
        node.identity().GetPluginInfo(call.get(), csi::v1::GetPluginInfoRequest(), &info);
    if (!status.ok()) discoveryFailed("GetPluginInfo on " + node.target(), status);
    facts.name = info.name();
    facts.version = info.vendor_version();
  }
  const bool needs_controller = plan.runs(BenchScenario::kCreateDelete) ||
                                plan.runs(BenchScenario::kLifecycle) ||
                                plan.runs(BenchScenario::kMigration);
  if (needs_controller) {
    csi::v1::ControllerGetCapabilitiesResponse capabilities;
    const auto call = controller.newCallContext();
    const grpc::Status status = controller.controller().ControllerGetCapabilities(
        call.get(), csi::v1::ControllerGetCapabilitiesRequest(), &capabilities);
    if (!status.ok()) {
      discoveryFailed("ControllerGetCapabilities on " + controller.target(), status);
    }
    bool create_delete = false;
    for (const auto& capability : capabilities.capabilities()) {
      if (!capability.has_rpc()) continue;
      create_delete |= capability.rpc().type() == ControllerRpc::CREATE_DELETE_VOLUME;
      facts.controller_publish |=
          capability.rpc().type() == ControllerRpc::PUBLISH_UNPUBLISH_VOLUME;
    }
    if (!create_delete) {
      throw std::runtime_error("the controller at " + controller.target() +
                               " does not advertise CREATE_DELETE_VOLUME; the create-delete, "
                               "lifecycle and migration scenarios need it");
    }
    if (plan.runs(BenchScenario::kMigration) && !facts.controller_publish) {
      throw std::runtime_error("the controller at " + controller.target() +
                               " does not advertise PUBLISH_UNPUBLISH_VOLUME; the migration "
                               "scenario publishes to two nodes");
    }
  }
  facts.node_id = plan.node_id;
  if (plan.runs(BenchScenario::kLifecycle)) {
    csi::v1::NodeGetCapabilitiesResponse capabilities;
    const auto call = node.newCallContext();
    const grpc::Status status = node.node().NodeGetCapabilities(
        call.get(), csi::v1::NodeGetCapabilitiesRequest(), &capabilities);
    if (!status.ok()) discoveryFailed("NodeGetCapabilities on " + node.target(), status);
    for (const auto& capability : capabilities.capabilities()) {
      facts.node_stage |=
          capability.has_rpc() && capability.rpc().type() == NodeRpc::STAGE_UNSTAGE_VOLUME;
    }
  }
  const bool needs_node_id =
      plan.runs(BenchScenario::kLifecycle) || plan.runs(BenchScenario::kMigration);
  if (needs_node_id && facts.node_id.empty()) {
    csi::v1::NodeGetInfoResponse info;
    const auto call = node.newCallContext();
    const grpc::Status status =
        node.node().NodeGetInfo(call.get(), csi::v1::NodeGetInfoRequest(), &info);
    if (!status.ok()) {
      discoveryFailed("NodeGetInfo on " + node.target() + " (or pass --node-id)", status);
    }
    facts.node_id = info.node_id();
    if (facts.node_id.empty()) {
      throw std::runtime_error("NodeGetInfo on " + node.target() +
                               " returned an empty node_id; pass --node-id");
    }
  }
  if (plan.runs(BenchScenario::kMigration) && facts.node_id == plan.peer_node_id) {
    throw std::runtime_error("the node id '" + facts.node_id +
                             "' equals --peer-node-id: a migration needs two nodes");
  }
  return facts;
}

ScenarioRunner::ScenarioRunner(CsiConnection& node, CsiConnection& controller,
                               const BenchPlan& plan, const DriverFacts& facts,
                               std::string node_dir)
    : node_(node),
      controller_(controller),
      plan_(plan),
      facts_(facts),
      node_dir_(std::move(node_dir)) {}

bool ScenarioRunner::runOnce(BenchScenario scenario, const std::string& volume_name,
                             CallRecorder& recorder) const {
  switch (scenario) {
    case BenchScenario::kProbe:
      return probe(recorder);
    case BenchScenario::kCreateDelete:
      return createDelete(volume_name, recorder);
    case BenchScenario::kLifecycle:
      return lifecycle(volume_name, recorder);
    case BenchScenario::kMigration:
      return migration(volume_name, recorder);
  }
  throw std::logic_error("unknown bench scenario");
}

bool ScenarioRunner::probe(CallRecorder& recorder) const {
  csi::v1::ProbeResponse response;
  const auto call = node_.newCallContext();
  return recorder
      .time("Probe",
            [&] { return node_.identity().Probe(call.get(), csi::v1::ProbeRequest(), &response); })
      .ok();
}

bool ScenarioRunner::createDelete(const std::string& name, CallRecorder& recorder) const {
  const csi::v1::CreateVolumeRequest create =
      createRequest(plan_, name, capabilityFor(plan_, plan_.block, AccessMode::SINGLE_NODE_WRITER));
  csi::v1::CreateVolumeResponse created;
  {
    const auto call = controller_.newCallContext();
    if (!recorder
             .time("CreateVolume",
                   [&] {
                     return controller_.controller().CreateVolume(call.get(), create, &created);
                   })
             .ok()) {
      return false;
    }
  }
  csi::v1::DeleteVolumeRequest remove;
  remove.set_volume_id(created.volume().volume_id());
  csi::v1::DeleteVolumeResponse removed;
  const auto call = controller_.newCallContext();
  return recorder
      .time("DeleteVolume",
            [&] { return controller_.controller().DeleteVolume(call.get(), remove, &removed); })
      .ok();
}

bool ScenarioRunner::lifecycle(const std::string& name, CallRecorder& recorder) const {
  const csi::v1::VolumeCapability capability =
      capabilityFor(plan_, plan_.block, AccessMode::SINGLE_NODE_WRITER);
  UndoStack undo;
  // Runs one measured RPC; on failure undoes what was done and reports false.
  const auto step = [&](std::string_view label, const auto& rpc) {
    if (recorder.time(label, rpc).ok()) return true;
    undo.unwind();
    return false;
  };

  csi::v1::CreateVolumeResponse created;
  {
    const csi::v1::CreateVolumeRequest request = createRequest(plan_, name, capability);
    const auto call = controller_.newCallContext();
    if (!step("CreateVolume", [&] {
          return controller_.controller().CreateVolume(call.get(), request, &created);
        })) {
      return false;
    }
  }
  const csi::v1::Volume& volume = created.volume();
  csi::v1::DeleteVolumeRequest remove;
  remove.set_volume_id(volume.volume_id());
  const auto deleteVolume = [&] {
    csi::v1::DeleteVolumeResponse response;
    const auto call = controller_.newCallContext();
    return controller_.controller().DeleteVolume(call.get(), remove, &response);
  };
  undo.push([&] { deleteVolume(); });

  csi::v1::ControllerUnpublishVolumeRequest unpublish;
  unpublish.set_volume_id(volume.volume_id());
  unpublish.set_node_id(facts_.node_id);
  const auto controllerUnpublish = [&] {
    csi::v1::ControllerUnpublishVolumeResponse response;
    const auto call = controller_.newCallContext();
    return controller_.controller().ControllerUnpublishVolume(call.get(), unpublish, &response);
  };
  csi::v1::ControllerPublishVolumeResponse published;
  if (facts_.controller_publish) {
    csi::v1::ControllerPublishVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    request.set_node_id(facts_.node_id);
    *request.mutable_volume_capability() = capability;
    *request.mutable_volume_context() = volume.volume_context();
    const auto call = controller_.newCallContext();
    if (!step("ControllerPublishVolume", [&] {
          return controller_.controller().ControllerPublishVolume(call.get(), request, &published);
        })) {
      return false;
    }
    undo.push([&] { controllerUnpublish(); });
  }

  const std::string volume_dir = node_dir_ + "/" + name;
  const std::string staging_path = volume_dir + "/staging";
  const std::string target_path = volume_dir + "/target";
  if (!makeDirectory(volume_dir) || (facts_.node_stage && !makeDirectory(staging_path))) {
    const std::string why = std::strerror(errno);
    undo.unwind();
    recorder.time("node directory", [&] {
      return grpc::Status(grpc::StatusCode::INTERNAL, "cannot create " + volume_dir + ": " + why);
    });
    return false;
  }
  undo.push([&] {
    ::rmdir(staging_path.c_str());
    ::rmdir(volume_dir.c_str());
  });

  csi::v1::NodeUnstageVolumeRequest unstage;
  unstage.set_volume_id(volume.volume_id());
  unstage.set_staging_target_path(staging_path);
  const auto nodeUnstage = [&] {
    csi::v1::NodeUnstageVolumeResponse response;
    const auto call = node_.newCallContext();
    return node_.node().NodeUnstageVolume(call.get(), unstage, &response);
  };
  if (facts_.node_stage) {
    csi::v1::NodeStageVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    *request.mutable_publish_context() = published.publish_context();
    request.set_staging_target_path(staging_path);
    *request.mutable_volume_capability() = capability;
    *request.mutable_volume_context() = volume.volume_context();
    csi::v1::NodeStageVolumeResponse response;
    const auto call = node_.newCallContext();
    if (!step("NodeStageVolume",
              [&] { return node_.node().NodeStageVolume(call.get(), request, &response); })) {
      return false;
    }
    undo.push([&] { nodeUnstage(); });
  }

  csi::v1::NodeUnpublishVolumeRequest node_unpublish;
  node_unpublish.set_volume_id(volume.volume_id());
  node_unpublish.set_target_path(target_path);
  const auto nodeUnpublish = [&] {
    csi::v1::NodeUnpublishVolumeResponse response;
    const auto call = node_.newCallContext();
    return node_.node().NodeUnpublishVolume(call.get(), node_unpublish, &response);
  };
  {
    csi::v1::NodePublishVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    *request.mutable_publish_context() = published.publish_context();
    if (facts_.node_stage) request.set_staging_target_path(staging_path);
    request.set_target_path(target_path);
    *request.mutable_volume_capability() = capability;
    *request.mutable_volume_context() = volume.volume_context();
    csi::v1::NodePublishVolumeResponse response;
    const auto call = node_.newCallContext();
    if (!step("NodePublishVolume",
              [&] { return node_.node().NodePublishVolume(call.get(), request, &response); })) {
      return false;
    }
    undo.push([&] { nodeUnpublish(); });
  }

  // And back, newest first; each step's undo is dropped once the step itself succeeded.
  undo.pop();
  if (!step("NodeUnpublishVolume", nodeUnpublish)) return false;
  if (facts_.node_stage) {
    undo.pop();
    if (!step("NodeUnstageVolume", nodeUnstage)) return false;
  }
  undo.pop();
  ::rmdir(staging_path.c_str());
  ::rmdir(volume_dir.c_str());
  if (facts_.controller_publish) {
    undo.pop();
    if (!step("ControllerUnpublishVolume", controllerUnpublish)) return false;
  }
  undo.pop();
  return step("DeleteVolume", deleteVolume);
}

bool ScenarioRunner::migration(const std::string& name, CallRecorder& recorder) const {
  const csi::v1::VolumeCapability capability =
      capabilityFor(plan_, /*block=*/true, AccessMode::MULTI_NODE_MULTI_WRITER);
  UndoStack undo;
  const auto step = [&](std::string_view label, const auto& rpc) {
    if (recorder.time(label, rpc).ok()) return true;
    undo.unwind();
    return false;
  };

  csi::v1::CreateVolumeResponse created;
  {
    const csi::v1::CreateVolumeRequest request = createRequest(plan_, name, capability);
    const auto call = controller_.newCallContext();
    if (!step("CreateVolume", [&] {
          return controller_.controller().CreateVolume(call.get(), request, &created);
        })) {
      return false;
    }
  }
  const csi::v1::Volume& volume = created.volume();
  const auto deleteVolume = [&] {
    csi::v1::DeleteVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    csi::v1::DeleteVolumeResponse response;
    const auto call = controller_.newCallContext();
    return controller_.controller().DeleteVolume(call.get(), request, &response);
  };
  undo.push([&] { deleteVolume(); });

  const auto publish = [&](const std::string& node_id) {
    csi::v1::ControllerPublishVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    request.set_node_id(node_id);
    *request.mutable_volume_capability() = capability;
    *request.mutable_volume_context() = volume.volume_context();
    csi::v1::ControllerPublishVolumeResponse response;
    const auto call = controller_.newCallContext();
    return controller_.controller().ControllerPublishVolume(call.get(), request, &response);
  };
  const auto unpublish = [&](const std::string& node_id) {
    csi::v1::ControllerUnpublishVolumeRequest request;
    request.set_volume_id(volume.volume_id());
    request.set_node_id(node_id);
    csi::v1::ControllerUnpublishVolumeResponse response;
    const auto call = controller_.newCallContext();
    return controller_.controller().ControllerUnpublishVolume(call.get(), request, &response);
  };
  const std::string& source = facts_.node_id;
  const std::string& target = plan_.peer_node_id;

  if (!step("ControllerPublishVolume(source)", [&] { return publish(source); })) return false;
  undo.push([&] { unpublish(source); });
  if (!step("ControllerPublishVolume(target)", [&] { return publish(target); })) return false;
  undo.push([&] { unpublish(target); });
  // The handoff: the source detaches while the target stays.
  if (!step("ControllerUnpublishVolume(source)", [&] { return unpublish(source); })) return false;
  // Both nodes' undo entries are settled by the handoff (the source is gone, the target is
  // detached next); a failure from here on only has the volume left to delete.
  undo.pop();
  undo.pop();
  if (!step("ControllerUnpublishVolume(target)", [&] { return unpublish(target); })) return false;
  undo.pop();
  return step("DeleteVolume", deleteVolume);
}

}  // namespace polycsi::csictl
