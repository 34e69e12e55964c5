#include "fake_kube_api.hpp"

#include <httplib.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "fake_event_validation.hpp"
#include "fidelity_reference.hpp"  // tests/support

namespace polycsi::kube::testing {
namespace {

nlohmann::json statusObject(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
          {"message", message}, {"reason", reason},   {"code", code}};
}

void answer(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

// What the API server's authorizer sees of a request: API group, resource, verb and names.
struct RequestAttributes {
  std::string apiGroup, resource, verb, namespace_, name;
};

// Splits "/api/v1/namespaces/ns/events" or "/apis/storage.k8s.io/v1/csinodes/n" as the API
// server's request-info resolver does (k8s.io/apiserver pkg/endpoints/request/requestinfo.go).
std::optional<RequestAttributes> attributesOf(const httplib::Request& request) {
  std::vector<std::string> parts;
  std::stringstream path(request.path);
  for (std::string part; std::getline(path, part, '/');)
    if (!part.empty()) parts.push_back(part);
  RequestAttributes out;
  size_t at = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    at = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    out.apiGroup = parts[1];
    at = 3;
  } else {
    return std::nullopt;
  }
  if (parts.size() > at + 1 && parts[at] == "namespaces" && parts.size() > at + 2) {
    out.namespace_ = parts[at + 1];
    at += 2;
  }
  if (parts.size() <= at) return std::nullopt;
  out.resource = parts[at];
  if (parts.size() > at + 1) out.name = parts[at + 1];
  if (parts.size() > at + 2) out.resource += "/" + parts[at + 2];  // a subresource
  if (request.method == "GET") {
    out.verb =
        out.name.empty() ? (request.get_param_value("watch") == "true" ? "watch" : "list") : "get";
  } else if (request.method == "POST") {
    out.verb = "create";
  } else if (request.method == "PUT") {
    out.verb = "update";
  } else if (request.method == "PATCH") {
    out.verb = "patch";
  } else if (request.method == "DELETE") {
    out.verb = out.name.empty() ? "deletecollection" : "delete";
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

// One page of a cluster-scoped list, as the API server pages with limit and continue (the
// fake's continue token is the index of the next item; setPageSize decides the page).
void FakeKubeApi::answerListPage(const httplib::Request& request, httplib::Response& response,
                                 const std::vector<nlohmann::json>& all, const std::string& kind) {
  size_t start = 0;
  if (request.has_param("continue")) start = std::stoul(request.get_param_value("continue"));
  const size_t page = pageSize_ == 0 ? all.size() : pageSize_;
  nlohmann::json items = nlohmann::json::array();
  for (size_t i = start; i < all.size() && i < start + page; ++i) items.push_back(all[i]);
  nlohmann::json metadata = {{"resourceVersion", "1"}};
  if (start + page < all.size()) metadata["continue"] = std::to_string(start + page);
  answer(response, 200,
         {{"kind", kind},
          {"apiVersion", "storage.k8s.io/v1"},
          {"metadata", metadata},
          {"items", items}});
}

FakeKubeApi::FakeKubeApi(std::string token, const std::optional<TlsFiles>& tls)
    : token_(std::move(token)), tls_(tls.has_value()) {
  if (tls) {
    server_ = std::make_unique<httplib::SSLServer>(tls->certFile.c_str(), tls->keyFile.c_str());
    if (!server_->is_valid())
      throw std::runtime_error("fake Kubernetes API: cannot load " + tls->certFile + " / " +
                               tls->keyFile);
  } else {
    server_ = std::make_unique<httplib::Server>();
  }
  // Every request: record, check the token, apply an injected failure.
  server_->set_pre_routing_handler([this](const httplib::Request& request,
                                          httplib::Response& response) {
    std::lock_guard lock(mu_);
    requests_.push_back(request.method + " " + request.target);
    changed_.notify_all();
    if (request.get_header_value("Authorization") != "Bearer " + token_) {
      answer(response, 401, statusObject(401, "Unauthorized", "Unauthorized"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (granted_) {
      const std::optional<RequestAttributes> asked = attributesOf(request);
      if (!asked || granted_->count({asked->apiGroup, asked->resource, asked->verb}) == 0) {
        const std::string what = asked
                                     ? "cannot " + asked->verb + " resource \"" + asked->resource +
                                           "\" in API group \"" + asked->apiGroup + "\"" +
                                           (asked->namespace_.empty()
                                                ? std::string(" at the cluster scope")
                                                : " in the namespace \"" + asked->namespace_ + "\"")
                                     : "cannot " + request.method + " " + request.path;
        answer(response, 403,
               statusObject(403, "Forbidden",
                            "forbidden: User \"system:serviceaccount:polycsi:" +
                                std::string("polycsi-controller\" ") + what));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (failStatus_ != 0) {
      answer(response, failStatus_,
             statusObject(failStatus_, "InjectedFailure",
                          "injected failure " + std::to_string(failStatus_)));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_->Get("/apis/storage.k8s.io/v1/volumeattachments",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mu_);
                 answerListPage(request, response, volumeAttachments_, "VolumeAttachmentList");
               });
  server_->Get("/apis/storage.k8s.io/v1/storageclasses",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mu_);
                 answerListPage(request, response, storageClasses_, "StorageClassList");
               });

  server_->Get(R"(/api/v1/persistentvolumes/([^/]+))", [this](const httplib::Request& request,
                                                              httplib::Response& response) {
    std::lock_guard lock(mu_);
    const std::string name = request.matches[1];
    auto it = persistentVolumes_.find(name);
    if (it == persistentVolumes_.end()) {
      answer(response, 404,
             statusObject(404, "NotFound", "persistentvolumes \"" + name + "\" not found"));
      return;
    }
    answer(response, 200, it->second);
  });

  server_->Get(
      R"(/api/v1/namespaces/([^/]+)/persistentvolumeclaims/([^/]+))",
      [this](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mu_);
        const std::string name = request.matches[2];
        auto it = persistentVolumeClaims_.find(std::string(request.matches[1]) + "/" + name);
        if (it == persistentVolumeClaims_.end()) {
          answer(
              response, 404,
              statusObject(404, "NotFound", "persistentvolumeclaims \"" + name + "\" not found"));
          return;
        }
        answer(response, 200, it->second);
      });

  server_->Get(
      R"(/apis/storage.k8s.io/(v1|v1beta1)/volumeattributesclasses/([^/]+))",
      [this](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mu_);
        const std::string name = request.matches[2];
        auto it = volumeAttributesClasses_.find(name);
        if (it == volumeAttributesClasses_.end()) {
          answer(response, 404,
                 statusObject(404, "NotFound",
                              "volumeattributesclasses.storage.k8s.io \"" + name + "\" not found"));
          return;
        }
        nlohmann::json vac = it->second;
        vac["apiVersion"] = "storage.k8s.io/" + std::string(request.matches[1]);
        answer(response, 200, vac);
      });

  server_->Get(R"(/apis/storage.k8s.io/v1/csinodes/([^/]+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mu_);
                 const std::string name = request.matches[1];
                 auto it = csiNodes_.find(name);
                 if (it == csiNodes_.end()) {
                   answer(response, 404,
                          statusObject(404, "NotFound", "csinodes \"" + name + "\" not found"));
                   return;
                 }
                 answer(response, 200, it->second);
               });

  // core/v1 Node: GET /api/v1/nodes/{name} (Kubernetes API reference, "Node v1 core", "get read
  // the specified Node"); a missing one is 404 NotFound `nodes "<name>" not found`, the message
  // k8s.io/apimachinery's errors.NewNotFound gives for the resource "nodes" (core group).
  server_->Get(R"(/api/v1/nodes/([^/]+))", [this](const httplib::Request& request,
                                                  httplib::Response& response) {
    std::lock_guard lock(mu_);
    const std::string name = request.matches[1];
    auto it = nodes_.find(name);
    if (it == nodes_.end()) {
      answer(response, 404, statusObject(404, "NotFound", "nodes \"" + name + "\" not found"));
      return;
    }
    answer(response, 200, it->second);
  });

  server_->Get(R"(/apis/coordination.k8s.io/v1/namespaces/([^/]+)/leases/([^/]+))",
               [this](const httplib::Request& request, httplib::Response& response) {
                 std::lock_guard lock(mu_);
                 const std::string name = request.matches[2];
                 auto it = leases_.find(std::string(request.matches[1]) + "/" + name);
                 if (it == leases_.end()) {
                   answer(response, 404,
                          statusObject(404, "NotFound",
                                       "leases.coordination.k8s.io \"" + name + "\" not found"));
                   return;
                 }
                 answer(response, 200, it->second);
               });

  server_->Post(R"(/api/v1/namespaces/([^/]+)/events)", [this](const httplib::Request& request,
                                                               httplib::Response& response) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [this] { return !holdEvents_; });
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
      answer(response, 400, statusObject(400, "BadRequest", "not JSON"));
      return;
    }
    if (auto refusal = refuseEventCreate(body, request.matches[1])) {
      refusedEvents_.push_back(refusal->message);
      answer(response, refusal->code,
             statusObject(refusal->code, refusal->reason, refusal->message));
      return;
    }
    events_.push_back({request.matches[1], body});
    nlohmann::json created = body;
    created["metadata"]["name"] =
        body["metadata"].value("generateName", "") + std::to_string(events_.size());
    answer(response, 201, created);
  });

  port_ = server_->bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake Kubernetes API: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int waited = 0; !server_->is_running(); ++waited) {
    if (waited == 10000) throw std::runtime_error("fake Kubernetes API: server did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

FakeKubeApi::~FakeKubeApi() {
  server_->stop();
  thread_.join();
}

std::string FakeKubeApi::baseUrl() const {
  return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

void FakeKubeApi::setPersistentVolumeClaim(const std::string& namespace_, const std::string& name,
                                           const std::string& uid, const std::string& volumeName) {
  std::lock_guard lock(mu_);
  nlohmann::json claim = {{"apiVersion", "v1"},
                          {"kind", "PersistentVolumeClaim"},
                          {"metadata", {{"name", name}, {"namespace", namespace_}, {"uid", uid}}}};
  if (!volumeName.empty()) claim["spec"] = {{"volumeName", volumeName}};
  persistentVolumeClaims_[namespace_ + "/" + name] = std::move(claim);
}

void FakeKubeApi::setVolumeAttributesClass(const std::string& name, const std::string& driverName,
                                           const std::map<std::string, std::string>& parameters) {
  std::lock_guard lock(mu_);
  volumeAttributesClasses_[name] = {{"kind", "VolumeAttributesClass"},
                                    {"metadata", {{"name", name}}},
                                    {"driverName", driverName},
                                    {"parameters", parameters}};
}

void FakeKubeApi::setCsiNode(const std::string& nodeName, const std::string& driver,
                             const std::string& nodeId) {
  std::lock_guard lock(mu_);
  csiNodes_[nodeName] = {
      {"apiVersion", "storage.k8s.io/v1"},
      {"kind", "CSINode"},
      {"metadata", {{"name", nodeName}}},
      {"spec",
       {{"drivers",
         {{{"name", "other.csi.io"}, {"nodeID", "x"}}, {{"name", driver}, {"nodeID", nodeId}}}}}}};
}

void FakeKubeApi::setNode(const std::string& name,
                          const std::map<std::string, std::string>& labels) {
  std::lock_guard lock(mu_);
  nlohmann::json metadata = {{"name", name}, {"uid", "node-uid-" + name}, {"resourceVersion", "1"}};
  if (!labels.empty()) metadata["labels"] = labels;
  nodes_[name] = {
      {"apiVersion", "v1"},
      {"kind", "Node"},
      {"metadata", metadata},
      {"spec", nlohmann::json::object()},
      {"status",
       {{"conditions", {{{"type", "Ready"}, {"status", "True"}, {"reason", "KubeletReady"}}}}}}};
}

void FakeKubeApi::removeNode(const std::string& name) {
  std::lock_guard lock(mu_);
  nodes_.erase(name);
}

void FakeKubeApi::removeCsiNodeDriver(const std::string& nodeName, const std::string& driver) {
  std::lock_guard lock(mu_);
  auto it = csiNodes_.find(nodeName);
  if (it == csiNodes_.end()) return;
  nlohmann::json& drivers = it->second["spec"]["drivers"];
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& entry : drivers)
    if (entry.value("name", "") != driver) kept.push_back(entry);
  drivers = kept;
}

void FakeKubeApi::setLease(const std::string& namespace_, const std::string& name,
                           const std::string& holderIdentity) {
  std::lock_guard lock(mu_);
  nlohmann::json& lease = leases_[namespace_ + "/" + name];
  const int transitions = lease.is_null() ? 0 : lease["spec"].value("leaseTransitions", 0) + 1;
  // coordination.k8s.io/v1 Lease as client-go's LeaseLock writes it (resourcelock/leaselock.go,
  // LeaderElectionRecordToLeaseSpec): holder, duration, acquire/renew times, transitions.
  lease = {{"apiVersion", "coordination.k8s.io/v1"},
           {"kind", "Lease"},
           {"metadata", {{"name", name}, {"namespace", namespace_}}},
           {"spec",
            {{"holderIdentity", holderIdentity},
             {"leaseDurationSeconds", 15},
             {"acquireTime", "2026-12-06T10:00:00.000000Z"},
             {"renewTime", "2026-12-06T10:00:05.000000Z"},
             {"leaseTransitions", transitions}}}};
}

void FakeKubeApi::removeLease(const std::string& namespace_, const std::string& name) {
  std::lock_guard lock(mu_);
  leases_.erase(namespace_ + "/" + name);
}

void FakeKubeApi::removeCsiNode(const std::string& nodeName) {
  std::lock_guard lock(mu_);
  csiNodes_.erase(nodeName);
}

void FakeKubeApi::setStorageClasses(std::vector<nlohmann::json> items) {
  std::lock_guard lock(mu_);
  storageClasses_ = std::move(items);
}

void FakeKubeApi::setVolumeAttachments(std::vector<nlohmann::json> items) {
  std::lock_guard lock(mu_);
  volumeAttachments_ = std::move(items);
}

void FakeKubeApi::setPersistentVolume(const std::string& name, nlohmann::json pv) {
  std::lock_guard lock(mu_);
  persistentVolumes_[name] = std::move(pv);
}

void FakeKubeApi::enforceClusterRole(const std::string& path, const std::string& roleName) {
  std::set<Grant> grants;
  bool found = false;
  for (const YAML::Node& document : YAML::LoadAllFromFile(path)) {
    if (!document.IsMap() || document["kind"].as<std::string>("") != "ClusterRole" ||
        document["metadata"]["name"].as<std::string>("") != roleName)
      continue;
    found = true;
    for (const YAML::Node& rule : document["rules"])
      for (const YAML::Node& group : rule["apiGroups"])
        for (const YAML::Node& resource : rule["resources"])
          for (const YAML::Node& verb : rule["verbs"])
            grants.insert(
                {group.as<std::string>(), resource.as<std::string>(), verb.as<std::string>()});
  }
  if (!found) throw std::runtime_error(path + " has no ClusterRole " + roleName);
  std::lock_guard lock(mu_);
  granted_ = std::move(grants);
}

void FakeKubeApi::failWith(int httpStatus) {
  std::lock_guard lock(mu_);
  failStatus_ = httpStatus;
}

void FakeKubeApi::setPageSize(size_t items) {
  std::lock_guard lock(mu_);
  pageSize_ = items;
}

void FakeKubeApi::holdEvents(bool hold) {
  std::lock_guard lock(mu_);
  holdEvents_ = hold;
  changed_.notify_all();
}

bool FakeKubeApi::waitForRequests(size_t count) const {
  std::unique_lock lock(mu_);
  return changed_.wait_for(lock, std::chrono::seconds(10),
                           [&] { return requests_.size() >= count; });
}

std::vector<FakeKubeApi::PostedEvent> FakeKubeApi::events() const {
  std::lock_guard lock(mu_);
  return events_;
}

std::vector<std::string> FakeKubeApi::refusedEvents() const {
  std::lock_guard lock(mu_);
  return refusedEvents_;
}

std::vector<std::string> FakeKubeApi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<std::string> FakeKubeApi::callsTheReferenceDoesNotList() const {
  static const auto reference =
      polycsi::testing::FidelityReference::load("Kubernetes API and sidecars (the core)", {});
  return reference.unlisted(requests());
}

nlohmann::json volumeAttachment(const std::string& name, const std::string& attacher,
                                const std::string& pvName, const std::string& node, bool attached,
                                const std::string& creationTimestamp) {
  return {{"apiVersion", "storage.k8s.io/v1"},
          {"kind", "VolumeAttachment"},
          {"metadata", {{"name", name}, {"creationTimestamp", creationTimestamp}}},
          {"spec",
           {{"attacher", attacher},
            {"nodeName", node},
            {"source", {{"persistentVolumeName", pvName}}}}},
          {"status", {{"attached", attached}}}};
}

nlohmann::json csiPersistentVolume(const std::string& name, const std::string& driver,
                                   const std::string& volumeHandle) {
  return {{"apiVersion", "v1"},
          {"kind", "PersistentVolume"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"csi", {{"driver", driver}, {"volumeHandle", volumeHandle}}},
            {"accessModes", {"ReadWriteMany"}},
            {"volumeMode", "Block"},
            {"claimRef", {{"name", "vm-disk"}, {"namespace", "vms"}}}}}};
}

}  // namespace polycsi::kube::testing
