#include "fake_csi_server.hpp"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <stdexcept>

namespace polycsi::csictl::testing {
namespace {

constexpr std::int64_t kGi = 1024LL * 1024 * 1024;

void requireLog(const std::shared_ptr<RequestLog>& log) {
  if (!log) throw std::logic_error("fake CSI service without a request log");
}

class FakeIdentity final : public csi::v1::Identity::Service {
 public:
  explicit FakeIdentity(std::shared_ptr<RequestLog> log) : log_(std::move(log)) {
    requireLog(log_);
  }

  grpc::Status GetPluginInfo(grpc::ServerContext*, const csi::v1::GetPluginInfoRequest* request,
                             csi::v1::GetPluginInfoResponse* response) override {
    log_->record("GetPluginInfo", *request);
    response->set_name(FakeCsiServer::kDriverName);
    response->set_vendor_version(FakeCsiServer::kDriverVersion);
    (*response->mutable_manifest())["build"] = "test";
    (*response->mutable_manifest())["backend/fake/group_snapshot_consistency"] =
        "per-volume-sequence";
    return grpc::Status::OK;
  }

  grpc::Status GetPluginCapabilities(grpc::ServerContext*,
                                     const csi::v1::GetPluginCapabilitiesRequest* request,
                                     csi::v1::GetPluginCapabilitiesResponse* response) override {
    log_->record("GetPluginCapabilities", *request);
    response->add_capabilities()->mutable_service()->set_type(
        csi::v1::PluginCapability::Service::CONTROLLER_SERVICE);
    response->add_capabilities()->mutable_volume_expansion()->set_type(
        csi::v1::PluginCapability::VolumeExpansion::ONLINE);
    return grpc::Status::OK;
  }

  grpc::Status Probe(grpc::ServerContext*, const csi::v1::ProbeRequest* request,
                     csi::v1::ProbeResponse* response) override {
    log_->record("Probe", *request);
    response->mutable_ready()->set_value(true);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<RequestLog> log_;
};

class FakeController final : public csi::v1::Controller::Service {
 public:
  explicit FakeController(std::shared_ptr<RequestLog> log) : log_(std::move(log)) {
    requireLog(log_);
  }

  grpc::Status CreateVolume(grpc::ServerContext*, const csi::v1::CreateVolumeRequest* request,
                            csi::v1::CreateVolumeResponse* response) override {
    log_->record("CreateVolume", *request);
    if (request->name().rfind("attached-", 0) == 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "Volume " + request->name() + " " + FakeCsiServer::kAttachedError);
    }
    csi::v1::Volume* volume = response->mutable_volume();
    volume->set_volume_id("vol-" + request->name());
    volume->set_capacity_bytes(request->capacity_range().required_bytes());
    const auto pool = request->parameters().find("pool");
    (*volume->mutable_volume_context())["pool"] =
        pool == request->parameters().end() ? "default" : pool->second;
    if (request->has_volume_content_source()) {
      *volume->mutable_content_source() = request->volume_content_source();
    }
    return grpc::Status::OK;
  }

  grpc::Status DeleteVolume(grpc::ServerContext*, const csi::v1::DeleteVolumeRequest* request,
                            csi::v1::DeleteVolumeResponse*) override {
    log_->record("DeleteVolume", *request);
    return grpc::Status::OK;
  }

  grpc::Status ControllerPublishVolume(
      grpc::ServerContext*, const csi::v1::ControllerPublishVolumeRequest* request,
      csi::v1::ControllerPublishVolumeResponse* response) override {
    log_->record("ControllerPublishVolume", *request);
    (*response->mutable_publish_context())["devicePath"] = "/dev/fake0";
    return grpc::Status::OK;
  }

  grpc::Status ControllerUnpublishVolume(grpc::ServerContext*,
                                         const csi::v1::ControllerUnpublishVolumeRequest* request,
                                         csi::v1::ControllerUnpublishVolumeResponse*) override {
    log_->record("ControllerUnpublishVolume", *request);
    return grpc::Status::OK;
  }

  grpc::Status ValidateVolumeCapabilities(
      grpc::ServerContext*, const csi::v1::ValidateVolumeCapabilitiesRequest* request,
      csi::v1::ValidateVolumeCapabilitiesResponse* response) override {
    log_->record("ValidateVolumeCapabilities", *request);
    if (request->volume_capabilities_size() > 0 &&
        request->volume_capabilities(0).access_mode().mode() ==
            csi::v1::VolumeCapability::AccessMode::MULTI_NODE_MULTI_WRITER) {
      response->set_message("multi-node writers are not supported");
      return grpc::Status::OK;
    }
    *response->mutable_confirmed()->mutable_volume_capabilities() = request->volume_capabilities();
    return grpc::Status::OK;
  }

  grpc::Status ListVolumes(grpc::ServerContext*, const csi::v1::ListVolumesRequest* request,
                           csi::v1::ListVolumesResponse* response) override {
    log_->record("ListVolumes", *request);
    static const char* const kVolumes[] = {"vol-a", "vol-b", "vol-c"};
    constexpr int kCount = 3;
    int start = 0;
    if (!request->starting_token().empty()) {
      start = std::stoi(request->starting_token());
      if (start < 0 || start > kCount) {
        return grpc::Status(grpc::StatusCode::ABORTED, "bad starting token");
      }
    }
    const int end =
        request->max_entries() > 0 ? std::min(kCount, start + request->max_entries()) : kCount;
    for (int i = start; i < end; ++i) {
      auto* entry = response->add_entries();
      entry->mutable_volume()->set_volume_id(kVolumes[i]);
      entry->mutable_volume()->set_capacity_bytes((i + 1) * kGi);
      if (i == 0) entry->mutable_status()->add_published_node_ids("node-1");
      // The last volume is reachable from one rack only (docs/topology.md).
      if (i == 2)
        (*entry->mutable_volume()
              ->add_accessible_topology()
              ->mutable_segments())["topology.polycsi.io/rack"] = "r1";
    }
    if (end < kCount) response->set_next_token(std::to_string(end));
    return grpc::Status::OK;
  }

  grpc::Status GetCapacity(grpc::ServerContext*, const csi::v1::GetCapacityRequest* request,
                           csi::v1::GetCapacityResponse* response) override {
    log_->record("GetCapacity", *request);
    response->set_available_capacity(10 * kGi);
    response->mutable_maximum_volume_size()->set_value(5 * kGi);
    return grpc::Status::OK;
  }

  grpc::Status ControllerGetCapabilities(
      grpc::ServerContext*, const csi::v1::ControllerGetCapabilitiesRequest* request,
      csi::v1::ControllerGetCapabilitiesResponse* response) override {
    log_->record("ControllerGetCapabilities", *request);
    for (const auto type : {csi::v1::ControllerServiceCapability::RPC::CREATE_DELETE_VOLUME,
                            csi::v1::ControllerServiceCapability::RPC::PUBLISH_UNPUBLISH_VOLUME,
                            csi::v1::ControllerServiceCapability::RPC::LIST_VOLUMES}) {
      response->add_capabilities()->mutable_rpc()->set_type(type);
    }
    return grpc::Status::OK;
  }

  grpc::Status ControllerExpandVolume(grpc::ServerContext*,
                                      const csi::v1::ControllerExpandVolumeRequest* request,
                                      csi::v1::ControllerExpandVolumeResponse* response) override {
    log_->record("ControllerExpandVolume", *request);
    response->set_capacity_bytes(request->capacity_range().required_bytes());
    response->set_node_expansion_required(true);
    return grpc::Status::OK;
  }

  grpc::Status CreateSnapshot(grpc::ServerContext*, const csi::v1::CreateSnapshotRequest* request,
                              csi::v1::CreateSnapshotResponse* response) override {
    log_->record("CreateSnapshot", *request);
    csi::v1::Snapshot* snapshot = response->mutable_snapshot();
    snapshot->set_snapshot_id("snap-" + request->name());
    snapshot->set_source_volume_id(request->source_volume_id());
    snapshot->set_size_bytes(kGi);
    snapshot->set_ready_to_use(true);
    *snapshot->mutable_creation_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(1700000000);
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<RequestLog> log_;
};

class FakeNode final : public csi::v1::Node::Service {
 public:
  explicit FakeNode(std::shared_ptr<RequestLog> log) : log_(std::move(log)) { requireLog(log_); }

  grpc::Status NodeStageVolume(grpc::ServerContext*, const csi::v1::NodeStageVolumeRequest* request,
                               csi::v1::NodeStageVolumeResponse*) override {
    log_->record("NodeStageVolume", *request);
    return grpc::Status::OK;
  }

  grpc::Status NodePublishVolume(grpc::ServerContext*,
                                 const csi::v1::NodePublishVolumeRequest* request,
                                 csi::v1::NodePublishVolumeResponse*) override {
    log_->record("NodePublishVolume", *request);
    return grpc::Status::OK;
  }

  grpc::Status NodeGetVolumeStats(grpc::ServerContext*,
                                  const csi::v1::NodeGetVolumeStatsRequest* request,
                                  csi::v1::NodeGetVolumeStatsResponse* response) override {
    log_->record("NodeGetVolumeStats", *request);
    csi::v1::VolumeUsage* bytes = response->add_usage();
    bytes->set_unit(csi::v1::VolumeUsage::BYTES);
    bytes->set_total(4 * kGi);
    bytes->set_used(kGi);
    bytes->set_available(3 * kGi);
    csi::v1::VolumeUsage* inodes = response->add_usage();
    inodes->set_unit(csi::v1::VolumeUsage::INODES);
    inodes->set_total(1000);
    inodes->set_used(10);
    inodes->set_available(990);
    return grpc::Status::OK;
  }

  grpc::Status NodeGetInfo(grpc::ServerContext*, const csi::v1::NodeGetInfoRequest* request,
                           csi::v1::NodeGetInfoResponse* response) override {
    log_->record("NodeGetInfo", *request);
    response->set_node_id("node-1");
    response->set_max_volumes_per_node(16);
    (*response->mutable_accessible_topology()->mutable_segments())["zone"] = "a";
    return grpc::Status::OK;
  }

 private:
  std::shared_ptr<RequestLog> log_;
};

}  // namespace

void RequestLog::record(const std::string& method, const google::protobuf::Message& request) {
  std::shared_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  std::lock_guard<std::mutex> lock(mutex_);
  log_[method].push_back(std::move(copy));
}

std::size_t RequestLog::totalCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::size_t count = 0;
  for (const auto& [method, requests] : log_) count += requests.size();
  return count;
}

// Group snapshots: a group "fake:grp-<name>" of one member "snap-<name>-<i>" per source, in
// the order given; Get and Delete answer for any id.
class FakeGroupController final : public csi::v1::GroupController::Service {
 public:
  explicit FakeGroupController(std::shared_ptr<RequestLog> log) : log_(std::move(log)) {}

  grpc::Status CreateVolumeGroupSnapshot(
      grpc::ServerContext*, const csi::v1::CreateVolumeGroupSnapshotRequest* request,
      csi::v1::CreateVolumeGroupSnapshotResponse* response) override {
    log_->record("CreateVolumeGroupSnapshot", *request);
    auto* group = response->mutable_group_snapshot();
    group->set_group_snapshot_id("fake:grp-" + request->name());
    group->set_ready_to_use(true);
    *group->mutable_creation_time() =
        google::protobuf::util::TimeUtil::SecondsToTimestamp(1700000000);
    for (int i = 0; i < request->source_volume_ids_size(); ++i) {
      auto* s = group->add_snapshots();
      s->set_snapshot_id("snap-" + request->name() + "-" + std::to_string(i));
      s->set_source_volume_id(request->source_volume_ids(i));
      s->set_size_bytes(kGi);
      s->set_ready_to_use(true);
      s->set_group_snapshot_id(group->group_snapshot_id());
      *s->mutable_creation_time() = group->creation_time();
    }
    return grpc::Status::OK;
  }
  grpc::Status DeleteVolumeGroupSnapshot(grpc::ServerContext*,
                                         const csi::v1::DeleteVolumeGroupSnapshotRequest* request,
                                         csi::v1::DeleteVolumeGroupSnapshotResponse*) override {
    log_->record("DeleteVolumeGroupSnapshot", *request);
    return grpc::Status::OK;
  }
  grpc::Status GetVolumeGroupSnapshot(grpc::ServerContext*,
                                      const csi::v1::GetVolumeGroupSnapshotRequest* request,
                                      csi::v1::GetVolumeGroupSnapshotResponse*) override {
    log_->record("GetVolumeGroupSnapshot", *request);
    return grpc::Status(grpc::StatusCode::NOT_FOUND,
                        "group snapshot " + request->group_snapshot_id() + " does not exist");
  }

 private:
  std::shared_ptr<RequestLog> log_;
};

FakeCsiServer::FakeCsiServer(const std::string& socket_path)
    : log_(std::make_shared<RequestLog>()),
      identity_(std::make_unique<FakeIdentity>(log_)),
      controller_(std::make_unique<FakeController>(log_)),
      node_(std::make_unique<FakeNode>(log_)),
      group_controller_(std::make_unique<FakeGroupController>(log_)) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix://" + socket_path, grpc::InsecureServerCredentials());
  builder.RegisterService(identity_.get());
  builder.RegisterService(controller_.get());
  builder.RegisterService(node_.get());
  builder.RegisterService(group_controller_.get());
  server_ = builder.BuildAndStart();
  if (!server_) throw std::runtime_error("cannot start the fake CSI server on " + socket_path);
}

FakeCsiServer::~FakeCsiServer() {
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server_->Wait();
}

}  // namespace polycsi::csictl::testing
