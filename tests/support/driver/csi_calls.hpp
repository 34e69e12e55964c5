// One-line CSI calls against a running driver, each with its own deadline, for tests that walk
// volumes through the lifecycle kubelet and the sidecars drive. Each call returns the gRPC
// status untouched, so a test can assert success or the exact refusal.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <string>

#include "csi.grpc.pb.h"
#include "driver_process.hpp"

namespace polycsi::testing {

// The volume context as kubelet carries it from CreateVolume to every later call.
using VolumeContext = std::map<std::string, std::string>;
VolumeContext contextOf(const csi::v1::Volume& volume);

// Borrows the driver's stubs: the DriverProcess must outlive this object and be started
// before the first call. gRPC stubs are thread-safe, so one CsiCalls serves many threads.
class CsiCalls {
 public:
  explicit CsiCalls(DriverProcess& driver) : driver_(driver) {}

  grpc::Status create(const std::string& name, int64_t bytes, const csi::v1::VolumeCapability& cap,
                      csi::v1::CreateVolumeResponse* out);
  grpc::Status deleteVolume(const std::string& volumeId);
  grpc::Status controllerPublish(const std::string& volumeId, const std::string& nodeId,
                                 const csi::v1::VolumeCapability& cap,
                                 const VolumeContext& context = {},
                                 csi::v1::ControllerPublishVolumeResponse* out = nullptr);
  grpc::Status controllerUnpublish(const std::string& volumeId, const std::string& nodeId);
  grpc::Status stage(const std::string& volumeId, const std::string& stagingPath,
                     const csi::v1::VolumeCapability& cap, const VolumeContext& context = {});
  grpc::Status unstage(const std::string& volumeId, const std::string& stagingPath);
  grpc::Status publish(const std::string& volumeId, const std::string& stagingPath,
                       const std::string& targetPath, const csi::v1::VolumeCapability& cap,
                       const VolumeContext& context = {}, bool readonly = false);
  grpc::Status unpublish(const std::string& volumeId, const std::string& targetPath);
  grpc::Status pluginInfo(csi::v1::GetPluginInfoResponse* out);
  // NodeGetVolumeStats of `volumeId` at `volumePath`; `out` may be null.
  grpc::Status volumeStats(const std::string& volumeId, const std::string& volumePath,
                           csi::v1::NodeGetVolumeStatsResponse* out = nullptr);
  // NodeGetInfo's node id, or "" after a failed call (the test's own expectation then fails).
  std::string nodeId();

 private:
  DriverProcess& driver_;
};

}  // namespace polycsi::testing

// Asserts that a grpc::Status expression is OK, naming the expression and the driver's message.
#define ASSERT_OK(expr)                                                       \
  do {                                                                        \
    grpc::Status _status = (expr);                                            \
    ASSERT_TRUE(_status.ok()) << #expr << ": " << _status.error_code() << " " \
                              << _status.error_message();                     \
  } while (0)
