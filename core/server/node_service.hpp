// CSI Node service. A node plugin only attaches and detaches (docs/plugin-sdk.md, 3.6); this
// service does the rest for every plugin alike: format, mount at the staging path, bind-mount
// to the publish path, unmount, stats and filesystem growth. What was attached is recorded in
// NodeVolumeRecords so every step can be retried after a crash or restart.
// Thread-safe: the node locks serialize work on one volume.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "csi.grpc.pb.h"
#include "node/volume_path_check.hpp"
#include "server/driver_context.hpp"
#include "server/node_volume_records.hpp"
#include "server/operation.hpp"
#include "server/volume_routing.hpp"

namespace polycsi::server {

class NodeService final : public csi::v1::Node::Service {
 public:
  explicit NodeService(DriverContext& driver) : driver_(driver) {}

  grpc::Status NodeStageVolume(grpc::ServerContext*, const csi::v1::NodeStageVolumeRequest*,
                               csi::v1::NodeStageVolumeResponse*) override;
  grpc::Status NodeUnstageVolume(grpc::ServerContext*, const csi::v1::NodeUnstageVolumeRequest*,
                                 csi::v1::NodeUnstageVolumeResponse*) override;
  grpc::Status NodePublishVolume(grpc::ServerContext*, const csi::v1::NodePublishVolumeRequest*,
                                 csi::v1::NodePublishVolumeResponse*) override;
  grpc::Status NodeUnpublishVolume(grpc::ServerContext*, const csi::v1::NodeUnpublishVolumeRequest*,
                                   csi::v1::NodeUnpublishVolumeResponse*) override;
  grpc::Status NodeGetVolumeStats(grpc::ServerContext*, const csi::v1::NodeGetVolumeStatsRequest*,
                                  csi::v1::NodeGetVolumeStatsResponse*) override;
  grpc::Status NodeExpandVolume(grpc::ServerContext*, const csi::v1::NodeExpandVolumeRequest*,
                                csi::v1::NodeExpandVolumeResponse*) override;
  grpc::Status NodeGetCapabilities(grpc::ServerContext*, const csi::v1::NodeGetCapabilitiesRequest*,
                                   csi::v1::NodeGetCapabilitiesResponse*) override;
  grpc::Status NodeGetInfo(grpc::ServerContext*, const csi::v1::NodeGetInfoRequest*,
                           csi::v1::NodeGetInfoResponse*) override;

 private:
  Status stage(Operation& op, const csi::v1::NodeStageVolumeRequest& req);
  Status unstage(Operation& op, const csi::v1::NodeUnstageVolumeRequest& req);
  Status publish(Operation& op, const csi::v1::NodePublishVolumeRequest& req);
  Status unpublish(Operation& op, const csi::v1::NodeUnpublishVolumeRequest& req);
  Status stats(Operation& op, const csi::v1::NodeGetVolumeStatsRequest& req,
               csi::v1::NodeGetVolumeStatsResponse* resp);
  Status expand(Operation& op, const csi::v1::NodeExpandVolumeRequest& req,
                csi::v1::NodeExpandVolumeResponse* resp);
  Status info(Operation& op, csi::v1::NodeGetInfoResponse* resp);
  StatusOr<std::vector<NodePublication>> livePublications(const NodeVolumeRecord& record) const;
  Status checkReaches(const plugin_host::ConfiguredBackend& backend) const;
  StatusOr<RoutedId> routeAndLock(Operation& op, const std::string& volumeId,
                                  std::optional<volume::VolumeLocks::Guard>& lock);

  DriverContext& driver_;
  // NodeGetVolumeStats' stat and statvfs of volume_path, bounded: a hung NFS server must not
  // hang the call.
  node::VolumePathCheck pathCheck_;
};

}  // namespace polycsi::server
