#include "kube/controller_leadership.hpp"

#include <spdlog/spdlog.h>

#include <utility>

namespace polycsi::kube {
namespace {

// A DNS-1123 label (namespaces) or subdomain (lease names): lowercase alphanumerics, '-' (and
// '.' for a subdomain), alphanumeric at both ends, at most 63 / 253 characters.
bool isDnsName(const std::string& name, bool subdomain) {
  const size_t limit = subdomain ? 253 : 63;
  if (name.empty() || name.size() > limit) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name)
    if (!alnum(c) && c != '-' && !(subdomain && c == '.')) return false;
  return true;
}

bool isSanitizedIdentity(const std::string& identity) {
  if (identity.empty() || identity.size() > 253) return false;
  for (char c : identity) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string sanitizeLeaderElectionName(const std::string& name) {
  std::string sanitized;
  for (char c : name) {
    bool keep =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    sanitized += keep ? c : '-';
  }
  if (!sanitized.empty() && sanitized.back() == '-') sanitized += 'X';
  return sanitized;
}

std::string attacherLeaseName(const std::string& driverName) {
  // external-attacher v4.7.0, cmd/csi-attacher/main.go: "external-attacher-leader-" + driver.
  return sanitizeLeaderElectionName("external-attacher-leader-" + driverName);
}

StatusOr<std::unique_ptr<ControllerLeadership>> ControllerLeadership::create(
    KubeClient& client, VolumeAttachmentReconciler& reconciler, Options options) {
  if (!isDnsName(options.leaseNamespace, false))
    return Status(Code::kInvalidArgument, "leader election namespace \"" + options.leaseNamespace +
                                              "\" is not a Kubernetes namespace name");
  if (!isDnsName(options.leaseName, true))
    return Status(Code::kInvalidArgument,
                  "lease name \"" + options.leaseName + "\" is not a Kubernetes object name");
  if (!isSanitizedIdentity(options.identity))
    return Status(Code::kInvalidArgument,
                  "leader election identity \"" + options.identity +
                      "\" must be 1-253 characters of [a-zA-Z0-9-] (the pod's hostname, "
                      "sanitized as the sidecars do)");
  if (options.pollPeriod <= std::chrono::milliseconds::zero())
    return Status(Code::kInvalidArgument, "lease poll period must be positive");
  std::unique_ptr<ControllerLeadership> leadership(
      new ControllerLeadership(client, reconciler, std::move(options)));
  ControllerLeadership* self = leadership.get();
  reconciler.setFencingGate([self] { return self->leading(); });
  return leadership;
}

ControllerLeadership::ControllerLeadership(KubeClient& client,
                                           VolumeAttachmentReconciler& reconciler, Options options)
    : client_(client), reconciler_(reconciler), options_(std::move(options)) {}

ControllerLeadership::~ControllerLeadership() { stop(); }

Status ControllerLeadership::pollOnce() {
  std::lock_guard lock(pollMu_);
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" +
                           urlEncode(options_.leaseNamespace) + "/leases/" +
                           urlEncode(options_.leaseName);
  StatusOr<nlohmann::json> lease = client_.get(path);
  std::string holder;
  Status result = Status::ok();
  if (lease.isOk()) {
    const nlohmann::json* spec = lease->contains("spec") ? &(*lease)["spec"] : nullptr;
    if (spec && spec->contains("holderIdentity") && (*spec)["holderIdentity"].is_string())
      holder = (*spec)["holderIdentity"].get<std::string>();
  } else if (lease.status().code() != Code::kNotFound) {
    // Not found: no attacher has taken the lease yet, which is an answer, not a failure.
    result =
        Status(lease.status().code(), "reading lease " + options_.leaseNamespace + "/" +
                                          options_.leaseName + ": " + lease.status().message());
  }

  const bool nowLeading = result.isOk() && holder == options_.identity;
  const bool wasLeading = leading_.load();
  if (nowLeading && !wasLeading) {
    // Publishes wait for a pass that starts from here on.
    requiredPass_ = reconciler_.passesStarted() + 1;
    leading_ = true;
    reconciler_.requestPass();
    spdlog::info(
        "this replica's attacher took lease {}/{}: rebuilding attachments from the cluster's "
        "VolumeAttachments before serving publishes",
        options_.leaseNamespace, options_.leaseName);
  } else if (!nowLeading && wasLeading) {
    leading_ = false;
    spdlog::warn("standing by: lease {}/{} is {}", options_.leaseNamespace, options_.leaseName,
                 result.isOk() ? "held by \"" + holder + "\"" : "unreadable: " + result.message());
  }
  return result;
}

Status ControllerLeadership::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return Status(Code::kFailedPrecondition, "lease polling already started");
  stopping_ = false;
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      if (Status polled = pollOnce(); !polled.isOk())
        spdlog::warn("controller leadership: {}", polled.toString());
      lock.lock();
      wake_.wait_for(lock, options_.pollPeriod, [this] { return stopping_; });
    }
  });
  return Status::ok();
}

void ControllerLeadership::stop() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wake_.notify_all();
  if (thread.joinable()) thread.join();
}

Status ControllerLeadership::mayChangeAttachments(const std::string& what) const {
  if (!leading_.load()) {
    return Status(Code::kUnavailable,
                  what +
                      " must wait: this controller replica is standing by (its attacher does "
                      "not hold lease " +
                      options_.leaseNamespace + "/" + options_.leaseName + "); retry shortly");
  }
  if (reconciler_.lastCompletePass() < requiredPass_.load()) {
    return Status(Code::kUnavailable,
                  what +
                      " must wait: this controller replica just took over and is rebuilding "
                      "its attachments from the cluster's VolumeAttachments; retry shortly");
  }
  return Status::ok();
}

Status ControllerLeadership::refreshIfStandby(const std::string& what) {
  if (leading_.load()) return Status::ok();
  const uint64_t needed = reconciler_.passesStarted() + 1;
  Status pass = reconciler_.reconcileOnce();
  if (reconciler_.lastCompletePass() >= needed) return Status::ok();
  return Status(Code::kUnavailable, what +
                                        " must wait: this standby controller replica could not "
                                        "read the cluster's attachments: " +
                                        pass.message());
}

}  // namespace polycsi::kube
