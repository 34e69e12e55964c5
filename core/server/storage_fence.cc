#include "server/storage_fence.hpp"

#include <chrono>

#include "server/volume_routing.hpp"
#include "volume/volume_id.hpp"

namespace polycsi::server {
namespace {

// What an RPC without a deadline gets (server/operation.cc).
constexpr std::chrono::minutes kFenceTimeout{2};

}  // namespace

Status closeStorageFence(const plugin_host::ConfiguredBackend& backend, const Call& call,
                         const std::string& localId, const std::string& nodeId,
                         const StringMap& secrets) {
  auto decoded = volume::decodeNodeId(nodeId);
  const volume::NodeId node = decoded.isOk() ? *decoded : volume::NodeId{nodeId, {}};
  auto found = node.identities.find(backend.descriptor().name);
  const std::string identity = found == node.identities.end() ? std::string() : found->second;
  const Status unfenced = backend.instance().unpublish(
      PublishRequest{call, localId, node.name, identity, false, {}, secrets});
  // The volume may be gone already; then there is nothing left to fence.
  if (!unfenced.isOk() && unfenced.code() != Code::kNotFound) return unfenced;
  return Status::ok();
}

kube::Fencer makeBackendFencer(DriverContext& driver) {
  return [&driver](const std::string& volumeHandle, const std::string& nodeId) -> Status {
    auto routed = routeId(driver, volumeHandle);
    if (!routed.isOk()) {
      return Status(Code::kFailedPrecondition, "cannot close the storage fence of volume " +
                                                   volumeHandle + ": " + routed.status().message());
    }
    Call call;
    call.timeout = kFenceTimeout;
    // Not a gRPC call: only shutdown and the timeout end it early.
    const auto watch =
        driver.cancellation.watch(nullptr, std::chrono::system_clock::now() + kFenceTimeout);
    call.cancelled = watch->flag();
    return closeStorageFence(*routed->backend, call, routed->localId, nodeId, {});
  };
}

}  // namespace polycsi::server
