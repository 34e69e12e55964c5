#include "server/node_registration.hpp"

namespace polycsi::server {

Status requireRegisteredNode(kube::KubeClient* kube, const std::string& driverName,
                             const std::string& nodeName, const std::string& nodeId) {
  if (kube == nullptr) return Status::ok();
  const std::string unknown = "node " + nodeId + " is not registered for driver " + driverName;
  StatusOr<nlohmann::json> csiNode =
      kube->get("/apis/storage.k8s.io/v1/csinodes/" + kube::urlEncode(nodeName));
  if (!csiNode.isOk()) {
    if (csiNode.status().code() == Code::kNotFound)
      return Status(Code::kNotFound, unknown + ": the cluster has no CSINode " + nodeName);
    return Status(Code::kUnavailable, "cannot tell whether node " + nodeName +
                                          " is registered: " + csiNode.status().message());
  }
  const auto driversPointer = "/spec/drivers"_json_pointer;
  if (csiNode->contains(driversPointer) && csiNode->at(driversPointer).is_array()) {
    for (const auto& driver : csiNode->at(driversPointer)) {
      if (!driver.is_object() || driver.value("name", "") != driverName) continue;
      if (driver.value("nodeID", "") == nodeId) return Status::ok();
      return Status(Code::kNotFound, unknown + ": CSINode " + nodeName +
                                         " registers it as node id " + driver.value("nodeID", "") +
                                         " instead");
    }
  }
  return Status(Code::kNotFound, unknown + ": CSINode " + nodeName +
                                     " has no entry for it (its node plugin is not registered)");
}

}  // namespace polycsi::server
