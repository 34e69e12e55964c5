// The labels of this node's Node object, which a node process with
// `node.topology_from_node_labels: true` reads once at start (config/node_profile.hpp):
// GET /api/v1/nodes/<name> (Kubernetes API reference, "Node v1 core", operation "get read the
// specified Node"), RBAC `get` on `nodes` (deploy/base/rbac-node.yaml).
//
// Read once: kubelet asks NodeGetInfo only when the plugin registers, so a label changed later
// reaches the cluster only through a restart of the node plugin, which reads the labels again.
//
// THREADING: thread-safe (KubeClient is); the start-up read blocks its caller.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "kube/kube_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::kube {

// metadata.labels of a v1 Node as the API server returns it (a Node without labels has none:
// an empty map). INVALID_ARGUMENT when `node` is not a Node or a label value is not a string.
StatusOr<StringMap> labelsOfNode(const nlohmann::json& node);

// One read of Node `nodeName`'s labels. Errors keep KubeClient's code (NOT_FOUND: no such Node;
// PERMISSION_DENIED: RBAC; UNAVAILABLE: the API server does not answer) and say what to do.
StatusOr<StringMap> readNodeLabels(KubeClient& client, const std::string& nodeName);

// How readNodeLabelsAtStart retries: by default 5 reads with waits of 1, 2, 4 and 8 s between
// them (15 s at most; the start is not cancellable meanwhile, well within a pod's 30 s grace).
struct NodeLabelsRetry {
  int attempts = 5;                            // reads at most, the first included
  std::chrono::milliseconds firstDelay{1000};  // the first wait, doubled after every read
  // Waits between reads; empty: sleeps. Tests pass one that only records the waits.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// The labels at start: an UNAVAILABLE answer (an API server restarting, a connection refused) is
// read again after firstDelay, doubling, at most `attempts` reads in all; any other error ends at
// once, since a missing Node or a missing RBAC grant does not heal by waiting. The last error is
// returned (its message counts the attempts): the caller refuses to start, and kubelet restarts
// the container with its back-off, so a node never reports a topology it could not check.
StatusOr<StringMap> readNodeLabelsAtStart(KubeClient& client, const std::string& nodeName,
                                          const NodeLabelsRetry& retry = {});

}  // namespace polycsi::kube
