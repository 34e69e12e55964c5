// Whether a CSI node id names a node the cluster has registered for this driver.
#pragma once

#include <string>

#include "kube/kube_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

// With a Kubernetes API (`kube` not null): OK when CSINode `nodeName` carries `nodeId` as its
// entry for `driverName` (kubelet records there what the node plugin's NodeGetInfo answered
// when node-driver-registrar registered it); NOT_FOUND naming the node otherwise (CSI:
// ControllerPublishVolume "Node does not exist"); UNAVAILABLE (retried) when the API server
// cannot be asked. OK without a Kubernetes API: there is nothing to ask.
// THREADING: as KubeClient (thread-safe); one GET per call.
Status requireRegisteredNode(kube::KubeClient* kube, const std::string& driverName,
                             const std::string& nodeName, const std::string& nodeId);

}  // namespace polycsi::server
