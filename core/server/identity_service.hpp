// CSI Identity service: plugin name/version, capabilities derived from the running backends,
// readiness. Thread-safe.
#pragma once

#include "csi.grpc.pb.h"
#include "server/driver_context.hpp"

namespace polycsi::server {

class IdentityService final : public csi::v1::Identity::Service {
 public:
  explicit IdentityService(DriverContext& driver) : driver_(driver) {}

  grpc::Status GetPluginInfo(grpc::ServerContext* ctx, const csi::v1::GetPluginInfoRequest* req,
                             csi::v1::GetPluginInfoResponse* resp) override;
  grpc::Status GetPluginCapabilities(grpc::ServerContext* ctx,
                                     const csi::v1::GetPluginCapabilitiesRequest* req,
                                     csi::v1::GetPluginCapabilitiesResponse* resp) override;
  grpc::Status Probe(grpc::ServerContext* ctx, const csi::v1::ProbeRequest* req,
                     csi::v1::ProbeResponse* resp) override;

 private:
  DriverContext& driver_;
};

}  // namespace polycsi::server
