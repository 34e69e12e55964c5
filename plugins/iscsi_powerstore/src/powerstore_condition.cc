// The controller-side condition of iscsi_powerstore volumes: what the array says of each
// volume, checked against what the driver expects (present, Ready, mapped to exactly the hosts of
// the published nodes: publish/unpublish keep it so).
#include <map>
#include <set>
#include <tuple>

#include "powerstore_backend.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

// Attribute names of dell/gopowerstore volume_types.go (Volume: id, name, type, state) and
// host_types.go (Host: id, name, initiators; HostVolumeMapping: host_id, volume_id,
// logical_unit_number), the mapping and host queries being those publish sends.
constexpr const char* kConditionVolumeSelect = "select=id,name,type,state";
constexpr const char* kConditionMappingSelect = "select=id,host_id,volume_id,logical_unit_number";
constexpr const char* kConditionHostSelect = "select=id,name,initiators";
// VolumeStateEnumReady, "Volume is operating normally" (gopowerstore volume_types.go); the
// other states are Initializing, Offline and Destroying.
constexpr const char* kReady = "Ready";

std::string hostLabel(const nlohmann::json& host, const std::string& id) {
  const std::string name = host.is_object() ? host.value("name", "") : "";
  return name.empty() ? "host " + id : "host " + name + " (id " + id + ")";
}

}  // namespace

std::vector<VolumeCondition> PowerStoreBackend::controllerVolumeConditions(
    const ControllerConditionRequest& req) {
  std::vector<VolumeCondition> out;
  out.reserve(req.volumes.size());
  for (const auto& q : req.volumes) {
    RestClient* c = nullptr;
    std::string uuid;
    try {
      std::tie(c, uuid) = resolve(q.volumeId, "volume");
    } catch (const Error& e) {
      out.push_back({true, e.what()});
      continue;
    }
    const std::string array = "array " + c->array().globalID + " (" + c->array().endpoint + ")";
    try {
      // Volume first: a 404 (NOT_FOUND from call()) says it is gone, which no mapping corrects.
      nlohmann::json v;
      try {
        v = c->call(req.call, "GET", "volume/" + uuid + "?" + kConditionVolumeSelect, nullptr,
                    "get volume");
      } catch (const Error& e) {
        if (e.code() != Code::kNotFound) throw;
        out.push_back({true, "volume " + q.volumeId + " does not exist on " + array +
                                 " (deleted behind the driver's back?)"});
        continue;
      }
      const std::string name = v.value("name", uuid);
      if (v.value("type", "") != "Primary") {
        out.push_back({true, "object " + uuid + " on " + array + " is a " + v.value("type", "?") +
                                 ", not a volume"});
        continue;
      }
      const std::string state = v.value("state", "");
      if (state != kReady) {
        out.push_back({true, "volume " + name + " on " + array + " is in state '" +
                                 (state.empty() ? "unknown" : state) +
                                 "', not Ready: the array does not serve it normally"});
        continue;
      }
      std::set<std::string> mapped;
      for (const auto& m : c->getAll(req.call,
                                     std::string("host_volume_mapping?") + kConditionMappingSelect +
                                         "&volume_id=eq." + RestClient::encode(uuid),
                                     "read the volume's host mappings"))
        mapped.insert(m.value("host_id", ""));
      std::map<std::string, nlohmann::json> hosts;  // by id; read only when there is a host
      if (!mapped.empty() || !q.publishedNodes.empty())
        for (const auto& h :
             c->getAll(req.call, std::string("host?") + kConditionHostSelect + "&order=name"))
          hosts[h.value("id", "")] = h;
      std::vector<std::string> problems;
      std::set<std::string> expected;
      for (const auto& n : q.publishedNodes) {
        // The node's host as publish found it: by name, else the one holding its initiator.
        std::string id;
        for (const auto& [hid, h] : hosts)
          if (h.value("name", "") == n.nodeName) id = hid;
        if (id.empty() && !n.nodeIdentity.empty())
          for (const auto& [hid, h] : hosts)
            if (initiatorOf(h, n.nodeIdentity) != nullptr) id = hid;
        if (id.empty()) {
          problems.push_back("node " + n.nodeName + " is published but " + array +
                             " has no host for it (name " + n.nodeName + " or initiator " +
                             (n.nodeIdentity.empty() ? "unknown" : n.nodeIdentity) +
                             "): it cannot reach the LUN");
          continue;
        }
        expected.insert(id);
        if (!mapped.count(id))
          problems.push_back("node " + n.nodeName + " is published but " +
                             hostLabel(hosts[id], id) +
                             " is not mapped to the volume: it cannot reach the LUN");
      }
      for (const auto& id : mapped)
        if (!expected.count(id))
          problems.push_back(hostLabel(hosts.count(id) ? hosts[id] : nlohmann::json(), id) +
                             " is mapped to the volume but no node is published: that host can "
                             "reach the data; detach it on the array");
      if (!problems.empty()) {
        std::string message = "volume " + name + " on " + array + ": ";
        for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
        out.push_back({true, message});
        continue;
      }
      out.push_back({false, "volume " + name + " on " + array +
                                " is Ready and mapped to exactly the published nodes' hosts"});
    } catch (const Error& e) {
      if (e.code() != Code::kUnavailable && e.code() != Code::kDeadlineExceeded) throw;
      out.push_back({true, array + " is unreachable: " + e.what()});
    }
  }
  return out;
}

}  // namespace polycsi::iscsi_powerstore
