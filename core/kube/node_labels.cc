#include "kube/node_labels.hpp"

#include <spdlog/spdlog.h>

#include <thread>

namespace polycsi::kube {

StatusOr<StringMap> labelsOfNode(const nlohmann::json& node) {
  if (!node.is_object() || node.value("kind", "") != "Node" || !node.contains("metadata") ||
      !node["metadata"].is_object())
    return Status(Code::kInvalidArgument, "the answer is not a v1 Node object");
  StringMap labels;
  const nlohmann::json& metadata = node["metadata"];
  // The API server leaves `labels` out of a Node that has none.
  if (!metadata.contains("labels") || metadata["labels"].is_null()) return labels;
  if (!metadata["labels"].is_object())
    return Status(Code::kInvalidArgument, "the Node's metadata.labels is not a map");
  for (const auto& [key, value] : metadata["labels"].items()) {
    if (!value.is_string())
      return Status(Code::kInvalidArgument, "the Node's label " + key + " is not a string");
    labels[key] = value.get<std::string>();
  }
  return labels;
}

StatusOr<StringMap> readNodeLabels(KubeClient& client, const std::string& nodeName) {
  const std::string path = "/api/v1/nodes/" + urlEncode(nodeName);
  auto node = client.get(path);
  if (!node.isOk()) {
    const Status& s = node.status();
    std::string advice;
    if (s.code() == Code::kNotFound)
      advice =
          "; --node-id must be the Kubernetes name of this node (spec.nodeName, NODE_NAME in "
          "deploy/base/node.yaml)";
    else if (s.code() == Code::kPermissionDenied)
      advice =
          "; the node plugin's service account needs `get` on `nodes` (ClusterRole "
          "polycsi-node, deploy/base/rbac-node.yaml)";
    return Status(s.code(),
                  "cannot read the labels of Node " + nodeName + ": " + s.message() + advice);
  }
  auto labels = labelsOfNode(*node);
  if (!labels.isOk())
    return Status(Code::kInternal, "cannot read the labels of Node " + nodeName + " (GET " + path +
                                       "): " + labels.status().message());
  return labels;
}

StatusOr<StringMap> readNodeLabelsAtStart(KubeClient& client, const std::string& nodeName,
                                          const NodeLabelsRetry& retry) {
  const auto sleep = retry.sleep ? retry.sleep : [](std::chrono::milliseconds delay) {
    std::this_thread::sleep_for(delay);
  };
  auto delay = retry.firstDelay;
  const int attempts = retry.attempts < 1 ? 1 : retry.attempts;
  for (int attempt = 1;; ++attempt) {
    auto labels = readNodeLabels(client, nodeName);
    if (labels.isOk() || labels.status().code() != Code::kUnavailable) return labels;
    if (attempt == attempts)
      return Status(Code::kUnavailable,
                    labels.status().message() + " (" + std::to_string(attempts) + " attempts)");
    spdlog::warn("{}; reading them again in {} ms (attempt {} of {})", labels.status().message(),
                 delay.count(), attempt + 1, attempts);
    sleep(delay);
    delay *= 2;
  }
}

}  // namespace polycsi::kube
