#include "server/storage_fence.hpp"

#include "volume/volume_id.hpp"

namespace polycsi::server {

Status closeStorageFence(const plugin_host::Backend &backend, const Call &call,
                         const std::string &localId, const std::string &nodeId,
                         const StringMap &secrets) {
  auto decoded = volume::decodeNodeId(nodeId);
  const volume::NodeId node =
      decoded.isOk() ? *decoded : volume::NodeId{nodeId, {}};
  auto found = node.identities.find(backend.descriptor().name);
  const std::string identity =
      found == node.identities.end() ? std::string() : found->second;
  const Status unfenced = backend.instance().unpublish(
      PublishRequest{call, localId, node.name, identity, false, {}, secrets});
  // The volume may be gone already; then there is nothing left to fence.
  if (!unfenced.isOk() && unfenced.code() != Code::kNotFound)
    return unfenced;
  return Status::ok();
}

} // namespace polycsi::server
