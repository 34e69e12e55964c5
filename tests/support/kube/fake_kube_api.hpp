// A fake Kubernetes API server for tests: HTTP, or HTTPS with a given certificate, on
// 127.0.0.1, an ephemeral port.
// Serves VolumeAttachments, StorageClasses, PersistentVolumes, PersistentVolumeClaims,
// VolumeAttributesClasses, CSINodes and Nodes from lists the test controls, stores posted Events,
// requires "Authorization: Bearer <token>" (401 otherwise) and can be told to fail every request
// with a given HTTP status. Errors are meta/v1 Status objects, as the real API. THREADING:
// thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace polycsi::kube::testing {

class FakeKubeApi {
 public:
  // PEM files of the certificate the server presents and its key.
  struct TlsFiles {
    std::string certFile;
    std::string keyFile;
  };

  // Serves HTTPS with `tls`, plain HTTP without.
  explicit FakeKubeApi(std::string token, const std::optional<TlsFiles>& tls = std::nullopt);
  ~FakeKubeApi();

  std::string baseUrl() const;

  // Test-controlled objects.
  void setVolumeAttachments(std::vector<nlohmann::json> items);
  // storage.k8s.io/v1 StorageClasses, listed in this order (paged as setPageSize says).
  void setStorageClasses(std::vector<nlohmann::json> items);
  void setPersistentVolume(const std::string& name, nlohmann::json pv);
  // Serves core/v1 PersistentVolumeClaim `namespace_`/`name` with metadata.uid `uid` and, when
  // not empty, spec.volumeName `volumeName` (the PV it is bound to).
  void setPersistentVolumeClaim(const std::string& namespace_, const std::string& name,
                                const std::string& uid, const std::string& volumeName = "");
  // Serves VolumeAttributesClass `name` (cluster-scoped) of CSI driver `driverName` with
  // `parameters`, at storage.k8s.io/v1 (Kubernetes 1.34+, GA) and v1beta1 (1.31-1.33) alike,
  // as an API server serving both versions does; the fields are the API reference's:
  // driverName and parameters (a map of strings, both immutable). An unknown name answers 404
  // NotFound with the API server's message `volumeattributesclasses.storage.k8s.io "<name>"
  // not found`.
  void setVolumeAttributesClass(const std::string& name, const std::string& driverName,
                                const std::map<std::string, std::string>& parameters);
  // Serves storage.k8s.io/v1 CSINode `nodeName` with one driver entry (name, nodeID).
  void setCsiNode(const std::string& nodeName, const std::string& driver,
                  const std::string& nodeId);
  // From now on, a request the ClusterRole `roleName` in the YAML file `path` (one or more
  // documents, as deploy/ writes them) does not grant answers 403 Forbidden, as the API server
  // does for the service account bound to it: the verb (get, list, create, ...), the API group
  // and the resource come from the request as the API server derives them. Throws
  // std::runtime_error when the file has no such ClusterRole.
  void enforceClusterRole(const std::string& path, const std::string& roleName);
  // Serves core/v1 Node `name` with metadata.labels `labels` at GET /api/v1/nodes/<name>, as the
  // Kubernetes API reference gives the read ("Node v1 core", "get read the specified Node"):
  // apiVersion v1, kind Node, metadata (name, uid, labels; labels left out when empty, as the
  // API server leaves an empty map out), and a status with the Ready condition. An unknown name
  // answers 404 NotFound with the API server's message `nodes "<name>" not found`.
  void setNode(const std::string& name, const std::map<std::string, std::string>& labels);
  // Stops serving Node `name` (404).
  void removeNode(const std::string& name);
  // Drops `driver`'s entry from CSINode `nodeName`, as kubelet does while the driver's node
  // plugin re-registers; the other entries stay.
  void removeCsiNodeDriver(const std::string& nodeName, const std::string& driver);
  // Stops serving CSINode `nodeName` (404), as before kubelet created it.
  void removeCsiNode(const std::string& nodeName);
  // Serves coordination.k8s.io/v1 Lease `namespace_`/`name` held by `holderIdentity`, as a
  // sidecar's leader election writes it (an empty holder: released); removeLease stops serving
  // it (404, as before any candidate created it).
  void setLease(const std::string& namespace_, const std::string& name,
                const std::string& holderIdentity);
  void removeLease(const std::string& namespace_, const std::string& name);
  // Every request answers this HTTP status (with a Status body) until set back to 0.
  void failWith(int httpStatus);
  // Page size the VolumeAttachment and StorageClass lists use, to exercise "continue" (0 = one
  // page).
  void setPageSize(size_t items);
  // While held, event POSTs wait (at most 10 s) before they are stored and answered.
  void holdEvents(bool hold);
  // Waits (at most 10 s) until `count` requests have arrived; false on timeout.
  bool waitForRequests(size_t count) const;

  // Events posted, each with the namespace of the request path.
  struct PostedEvent {
    std::string namespace_;
    nlohmann::json body;
  };
  std::vector<PostedEvent> events() const;
  // The messages of the Events refused as the API server refuses them (fake_event_validation).
  std::vector<std::string> refusedEvents() const;
  // Requests served, in order, "METHOD target" with the target as sent ("GET /api/v1/...").
  std::vector<std::string> requests() const;
  // The requests served that the "Kubernetes API and sidecars (the core)" section of
  // docs/fidelity.md does not list; empty when every request rests on a listed public source.
  std::vector<std::string> callsTheReferenceDoesNotList() const;

 private:
  // Answers one page of `all` (guarded by mu_, held by the caller).
  void answerListPage(const httplib::Request& request, httplib::Response& response,
                      const std::vector<nlohmann::json>& all, const std::string& kind);

  std::string token_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  bool tls_ = false;
  std::thread thread_;

  mutable std::mutex mu_;
  std::vector<nlohmann::json> volumeAttachments_;
  std::vector<nlohmann::json> storageClasses_;
  std::map<std::string, nlohmann::json> persistentVolumes_;
  std::map<std::string, nlohmann::json> persistentVolumeClaims_;  // "<namespace>/<name>"
  std::map<std::string, nlohmann::json> volumeAttributesClasses_;
  std::map<std::string, nlohmann::json> csiNodes_;
  std::map<std::string, nlohmann::json> nodes_;
  std::map<std::string, nlohmann::json> leases_;  // "<namespace>/<name>"
  std::vector<PostedEvent> events_;
  std::vector<std::string> requests_;
  std::vector<std::string> refusedEvents_;
  int failStatus_ = 0;
  size_t pageSize_ = 0;
  bool holdEvents_ = false;
  struct Grant {
    std::string apiGroup, resource, verb;
    bool operator<(const Grant& o) const {
      return std::tie(apiGroup, resource, verb) < std::tie(o.apiGroup, o.resource, o.verb);
    }
  };
  std::optional<std::set<Grant>> granted_;  // nullopt: no RBAC enforced
  mutable std::condition_variable changed_;
};

// A VolumeAttachment of `attacher` for PV `pvName` on `node`.
nlohmann::json volumeAttachment(const std::string& name, const std::string& attacher,
                                const std::string& pvName, const std::string& node, bool attached,
                                const std::string& creationTimestamp);
// A CSI PersistentVolume with `volumeHandle`.
nlohmann::json csiPersistentVolume(const std::string& name, const std::string& driver,
                                   const std::string& volumeHandle);

}  // namespace polycsi::kube::testing
