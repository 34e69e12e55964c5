#include "fake_kube_api.hpp"

#include <httplib.h>

#include <chrono>
#include <stdexcept>

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

}  // namespace

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
  server_->set_pre_routing_handler(
      [this](const httplib::Request& request, httplib::Response& response) {
        std::lock_guard lock(mu_);
        requests_.push_back(request.method + " " + request.path);
        changed_.notify_all();
        if (request.get_header_value("Authorization") != "Bearer " + token_) {
          answer(response, 401, statusObject(401, "Unauthorized", "Unauthorized"));
          return httplib::Server::HandlerResponse::Handled;
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
                 size_t start = 0;
                 if (request.has_param("continue")) {
                   start = std::stoul(request.get_param_value("continue"));
                 }
                 const size_t page = pageSize_ == 0 ? volumeAttachments_.size() : pageSize_;
                 nlohmann::json items = nlohmann::json::array();
                 for (size_t i = start; i < volumeAttachments_.size() && i < start + page; ++i) {
                   items.push_back(volumeAttachments_[i]);
                 }
                 nlohmann::json metadata = {{"resourceVersion", "1"}};
                 if (start + page < volumeAttachments_.size()) {
                   metadata["continue"] = std::to_string(start + page);
                 }
                 answer(response, 200,
                        {{"kind", "VolumeAttachmentList"},
                         {"apiVersion", "storage.k8s.io/v1"},
                         {"metadata", metadata},
                         {"items", items}});
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

  server_->Post(R"(/api/v1/namespaces/([^/]+)/events)", [this](const httplib::Request& request,
                                                               httplib::Response& response) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [this] { return !holdEvents_; });
    auto body = nlohmann::json::parse(request.body, nullptr, false);
    if (body.is_discarded()) {
      answer(response, 400, statusObject(400, "BadRequest", "not JSON"));
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

void FakeKubeApi::removeCsiNode(const std::string& nodeName) {
  std::lock_guard lock(mu_);
  csiNodes_.erase(nodeName);
}

void FakeKubeApi::setVolumeAttachments(std::vector<nlohmann::json> items) {
  std::lock_guard lock(mu_);
  volumeAttachments_ = std::move(items);
}

void FakeKubeApi::setPersistentVolume(const std::string& name, nlohmann::json pv) {
  std::lock_guard lock(mu_);
  persistentVolumes_[name] = std::move(pv);
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

std::vector<std::string> FakeKubeApi::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
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
