// Construction, descriptor, controller calls and the node entry points of iscsi_powerstore.
#include "powerstore_backend.hpp"

#include <algorithm>

#include "multipath_map.hpp"
#include "polycsi/paging.hpp"
#include "scsi_disk_growth.hpp"
#include "volume_attributes.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kMaxBytes = 256ll << 40;

// What each GET asks for. The array returns only `id` without `select` (PowerStore REST API
// Developers Guide, "Request parameters"), so every GET names the attributes it reads; the
// names are those of dell/gopowerstore volume_types.go (kVolumeSelect, volume_attributes.hpp),
// host_types.go (Host, InitiatorInstance, HostVolumeMapping) and ip_pool_address_types.go
// (IPPoolAddress, with the nested ip_port(target_iqn, id) select it uses).
constexpr const char* kHostSelect = "select=id,name,initiators";
constexpr const char* kMappingSelect = "select=id,host_id,volume_id,logical_unit_number";
// iSCSI targets belong to IP ports: the Storage_Iscsi_Target addresses, each with its port's
// target IQN (dell/gopowerstore ip_pool_address.go GetStorageISCSITargetAddresses filters on
// purposes=cs.{Storage_Iscsi_Target} and orders by id).
constexpr const char* kIscsiAddressesQuery =
    "ip_pool_address?select=id,address,purposes,ip_port(id,target_iqn)"
    "&purposes=cs.%7BStorage_Iscsi_Target%7D&order=id";

// The array's size for a request: at least required (or 1 MiB), rounded up to whole MiB.
// (The array takes any multiple of 8192 from 1 MiB, dell/csi-powerstore
// pkg/controller/base.go; whole MiB keep sizes the same as before and are such multiples.)
int64_t sizeFor(int64_t required, int64_t limit) {
  if (required < 0 || limit < 0) throw Error(Code::kInvalidArgument, "negative capacity");
  int64_t size = std::max<int64_t>(required, kMiB);
  size = (size + kMiB - 1) / kMiB * kMiB;
  if (limit > 0 && size > limit)
    throw Error(Code::kOutOfRange, "the array allocates whole MiB: " + std::to_string(size) +
                                       " bytes exceed limit_bytes " + std::to_string(limit));
  if (size > kMaxBytes) throw Error(Code::kOutOfRange, "PowerStore volumes hold at most 256 TiB");
  return size;
}

// The mutable parameters (docs/configuration.md, "Mutable parameters").
constexpr const char* kPerformancePolicyParameter = "performancePolicy";
constexpr const char* kProtectionPolicyParameter = "protectionPolicyID";

// The array's attributes for the mutable parameters in `params` (PowerStore REST API 4.1
// OpenAPI `volume_create` and `volume_modify`, dell/gopowerstore volume_types.go VolumeCreate
// and VolumeModify): performancePolicy low|medium|high is the predefined QoS policy
// default_<level> (dell/terraform-provider-powerstore powerstore/resource_volume.go lists
// exactly default_low, default_medium and default_high); protectionPolicyID is the id of a
// protection policy, empty to remove the volume's (the attribute is nullable; dell/csi-powerstore
// pkg/controller/controller.go unassigns it with ""). INVALID_ARGUMENT naming the parameter for
// another level; an id the array lacks is its 400, which the REST client also makes
// INVALID_ARGUMENT.
nlohmann::json policyAttributes(const StringMap& params) {
  nlohmann::json out = nlohmann::json::object();
  if (auto it = params.find(kPerformancePolicyParameter); it != params.end()) {
    if (it->second != "low" && it->second != "medium" && it->second != "high")
      throw Error(Code::kInvalidArgument, std::string("parameter ") + kPerformancePolicyParameter +
                                              " must be low, medium or high, got '" + it->second +
                                              "'");
    out["performance_policy_id"] = "default_" + it->second;
  }
  if (auto it = params.find(kProtectionPolicyParameter); it != params.end()) {
    if (!it->second.empty()) checkName(it->second, "protection policy");
    out["protection_policy_id"] = it->second;
  }
  return out;
}

}  // namespace

Descriptor PowerStoreBackend::describe() {
  using A = AccessMode;
  using S = AttachSemantics;
  Descriptor d;
  d.name = "iscsi_powerstore";
  d.version = "0.1.0";
  d.description =
      "Dell PowerStore block volumes over iSCSI, managed through the REST API. RWO only: one "
      "iSCSI attachment per volume, so this strategy cannot live-migrate.";
  d.metricsPrefix = "powerstore_csi";
  // Publish maps the volume to the PowerStore host of this initiator IQN.
  d.nodeIdentityKind = "iSCSI initiator IQN";
  const std::string rwx =
      "a PowerStore iSCSI volume is attached to one host at a time here, so it cannot be shared "
      "or live-migrated; use a file (NFS) strategy for RWX";
  for (VolumeMode mode : {VolumeMode::kBlock, VolumeMode::kFilesystem}) {
    d.capabilities.push_back({A::kSingleNodeWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeSingleWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeMultiWriter, mode, S::kExclusive});
    d.capabilities.push_back({A::kSingleNodeReaderOnly, mode, S::kExclusive});
    d.capabilities.push_back({A::kMultiNodeReaderOnly, mode, S::kUnsupported, rwx});
    d.capabilities.push_back({A::kMultiNodeSingleWriter, mode, S::kUnsupported, rwx});
    d.capabilities.push_back({A::kMultiNodeMultiWriter, mode, S::kUnsupported, rwx});
  }
  d.settings = pluginSettingSpecs();
  SettingSpec performance{kPerformancePolicyParameter, SettingKind::kString, false, false,
                          "QoS performance policy of the volume: low, medium or high (the "
                          "array's predefined default_low, default_medium, default_high). "
                          "Default: the array's (medium). Mutable."};
  performance.isMutable = true;
  SettingSpec protection{kProtectionPolicyParameter, SettingKind::kString, false, false,
                         "Id of the array's protection policy (snapshot and replication rules) "
                         "for the volume; empty removes it. Default: none. Mutable."};
  protection.isMutable = true;
  d.parameters = {SettingSpec{"arrayID", SettingKind::kString, false, false,
                              "globalID of the array to create on; default: the isDefault one."},
                  performance, protection};
  // A group is one POST volume_group/{id}/snapshot of a write-order consistent volume group:
  // the array cuts every member at one instant (powerstore_group_snapshot.cc).
  d.groupSnapshotConsistency = GroupConsistency::kCrashConsistent;
  return d;
}

PowerStoreBackend::PowerStoreBackend(const InitContext& ctx)
    : host_(ctx.host), config_(parsePluginConfig(ctx.settings, ctx.settingsJson, ctx.role)) {
  for (const ArrayConfig& a : config_.arrays) {
    if (a.skipCertificateValidation)
      host_.warn("iscsi_powerstore: skipCertificateValidation is set for array " + a.globalID +
                 ": its TLS certificate is NOT verified, so a man-in-the-middle can take the "
                 "credentials");
    if (!a.nasName.empty() || !a.nfsAcls.empty())
      host_.info("iscsi_powerstore: array " + a.globalID +
                 ": nasName/nfsAcls are for NFS volumes, which this plugin does not create");
    for (const std::string& key : a.ignoredKeys)
      host_.info("iscsi_powerstore: array " + a.globalID + ": key '" + key +
                 "' of Dell's arrays entry is not used by this plugin; ignored");
    const Host metrics = host_;
    const std::string array = a.globalID;
    clients_[a.globalID] = std::make_unique<RestClient>(
        a, config_.requestTimeout, [metrics, array](const std::string& method, long status) {
          metrics.counterAdd(
              "rest_requests_total",
              {{"array", array}, {"method", method}, {"status", std::to_string(status)}}, 1);
        });
  }
  if (ctx.role != Role::kController) {
    IscsiNodeOptions options;
    options.hostRoot = config_.iscsiHostRoot;
    options.initiatorNameFile = config_.initiatorNameFile;
    options.stateDir = ctx.stateDir;
    options.deviceWaitTimeout = config_.deviceWaitTimeout;
    options.nodeDbDir = config_.iscsiNodeDbDir;
    options.replacementTimeoutSeconds = config_.replacementTimeoutSeconds;
    options.multipath = config_.multipath;
    if (!config_.chapUser.empty())
      options.chap = ChapSecret{config_.chapUser, config_.chapPassword, config_.chapMutualUser,
                                config_.chapMutualPassword};
    node_ = std::make_unique<IscsiNode>(std::move(options));
  }
}

PowerStoreBackend::~PowerStoreBackend() = default;

RestClient& PowerStoreBackend::client(const std::string& globalID) {
  auto it = clients_.find(globalID);
  if (it == clients_.end())
    throw Error(Code::kNotFound, "array '" + globalID + "' is not configured");
  return *it->second;
}

std::pair<RestClient*, std::string> PowerStoreBackend::resolve(const std::string& id,
                                                               const char* what) {
  // The uuid holds no '.', so the last '.' separates it even from a dotted globalID.
  const std::size_t dot = id.rfind('.');
  const std::string uuid = dot == std::string::npos ? "" : id.substr(dot + 1);
  if (dot == std::string::npos || dot == 0 || uuid.empty() || uuid.size() > 64 ||
      uuid.find_first_not_of("0123456789abcdef-") != std::string::npos) {
    throw Error(Code::kInvalidArgument,
                std::string(what) + " id '" + id + "' is not <globalID>.<uuid>");
  }
  return {&client(id.substr(0, dot)), uuid};
}

Volume PowerStoreBackend::toVolume(const RestClient& c, const nlohmann::json& v) const {
  Volume volume;
  volume.id = c.array().globalID + "." + v.at("id").get<std::string>();
  volume.capacityBytes = sizeOf(v);
  volume.context = {{"arrayID", c.array().globalID}};
  return volume;
}

Volume PowerStoreBackend::createVolume(const CreateVolumeRequest& req) {
  if (!req.sourceId.empty())
    throw Error(Code::kInvalidArgument, "createVolume got a source; use a snapshot or clone");
  checkName(req.name, "volume");
  auto params = req.parameters;
  RestClient& c = client(config_.array(params["arrayID"]).globalID);
  const int64_t size = sizeFor(req.requiredBytes, req.limitBytes);
  const nlohmann::json v =
      exactName(c.getAll(req.call, byName("volume", kVolumeSelect, req.name)), req.name);
  if (!v.is_null()) {
    if (v.value("type", "") != "Primary" || sizeOf(v) < req.requiredBytes ||
        (req.limitBytes > 0 && sizeOf(v) > req.limitBytes) || !sourceOf(v).empty()) {
      throw Error(Code::kAlreadyExists, "volume '" + req.name + "' exists on " +
                                            c.array().globalID + " with another size or source");
    }
    return toVolume(c, v);
  }
  // The policies go into the create itself: the array takes them at creation.
  nlohmann::json body = policyAttributes(params);
  // No protection policy is the array's default: an empty one is left out, as gopowerstore's
  // VolumeCreate (omitempty) leaves it out.
  if (body.value("protection_policy_id", "x").empty()) body.erase("protection_policy_id");
  body["name"] = req.name;
  body["size"] = size;
  const nlohmann::json created = c.call(req.call, "POST", "volume", body, "create volume");
  return toVolume(c, c.call(req.call, "GET", volumeById(created.at("id").get<std::string>())));
}

Volume PowerStoreBackend::findVolume(const FindVolumeRequest& req) {
  checkName(req.name, "volume");
  auto params = req.parameters;
  RestClient& c = client(config_.array(params["arrayID"]).globalID);
  const nlohmann::json v =
      exactName(c.getAll(req.call, byName("volume", kVolumeSelect, req.name)), req.name);
  if (v.is_null())
    throw Error(Code::kNotFound,
                "array " + c.array().globalID + " holds no volume named '" + req.name + "'");
  return toVolume(c, v);
}

Volume PowerStoreBackend::createCopy(const CreateVolumeRequest& req, const char* kind) {
  checkName(req.name, "volume");
  const nlohmann::json policies = policyAttributes(req.parameters);
  auto [c, sourceUuid] = resolve(req.sourceId, kind);
  nlohmann::json volume =
      exactName(c->getAll(req.call, byName("volume", kVolumeSelect, req.name)), req.name);
  if (!volume.is_null()) {
    if (volume.value("type", "") != "Primary" || sourceOf(volume) != sourceUuid)
      throw Error(Code::kAlreadyExists,
                  "volume '" + req.name + "' exists with another source than " + req.sourceId);
  } else {
    const nlohmann::json source = c->call(req.call, "GET", volumeById(sourceUuid));
    const bool wantSnapshot = std::string(kind) == "snapshot";
    if ((source.value("type", "") == "Snapshot") != wantSnapshot)
      throw Error(Code::kNotFound, std::string(kind) + " " + req.sourceId + " does not exist");
    const nlohmann::json created = c->call(req.call, "POST", "volume/" + sourceUuid + "/clone",
                                           {{"name", req.name}}, std::string("copy ") + kind);
    // A clone takes only a name and a description (dell/gopowerstore VolumeClone): the
    // policies follow as a modify.
    if (!policies.empty())
      c->call(req.call, "PATCH", "volume/" + created.at("id").get<std::string>(), policies,
              "set the copy's policies");
    volume = c->call(req.call, "GET", volumeById(created.at("id").get<std::string>()));
  }
  const int64_t wanted = sizeFor(req.requiredBytes, req.limitBytes);
  if (sizeOf(volume) < wanted) {
    c->call(req.call, "PATCH", "volume/" + volume.at("id").get<std::string>(), {{"size", wanted}},
            "grow the copy");
    volume["size"] = wanted;
  }
  Volume out = toVolume(*c, volume);
  (std::string(kind) == "snapshot" ? out.sourceSnapshotId : out.sourceVolumeId) = req.sourceId;
  return out;
}

Volume PowerStoreBackend::createVolumeFromSnapshot(const CreateVolumeRequest& req) {
  return createCopy(req, "snapshot");
}

Volume PowerStoreBackend::cloneVolume(const CreateVolumeRequest& req) {
  return createCopy(req, "volume");
}

void PowerStoreBackend::deleteVolume(const VolumeIdRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const RestResponse response = c->send(req.call, "DELETE", "volume/" + uuid);
  if (response.status == 404 || (response.status >= 200 && response.status < 300)) return;
  if (response.status == 422)
    throw Error(Code::kFailedPrecondition, "volume " + req.volumeId + " cannot be deleted: " +
                                               RestClient::messageOf(response));
  throw Error(Code::kUnavailable,
              "delete volume " + req.volumeId + ": " + RestClient::messageOf(response));
}

Volume PowerStoreBackend::getVolume(const VolumeIdRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const nlohmann::json v = c->call(req.call, "GET", volumeById(uuid), nullptr, "get volume");
  if (v.value("type", "") != "Primary")
    throw Error(Code::kNotFound, "volume " + req.volumeId + " does not exist");
  return toVolume(*c, v);
}

ExpandResult PowerStoreBackend::expandVolume(const ExpandRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const nlohmann::json v = c->call(req.call, "GET", volumeById(uuid), nullptr, "get volume");
  const int64_t wanted = sizeFor(req.requiredBytes, req.limitBytes);
  if (sizeOf(v) < wanted) {
    c->call(req.call, "PATCH", "volume/" + uuid, {{"size", wanted}}, "expand volume");
    return ExpandResult{wanted, true};
  }
  return ExpandResult{sizeOf(v), true};
}

void PowerStoreBackend::modifyVolume(const ModifyVolumeRequest& req) {
  const nlohmann::json change = policyAttributes(req.mutableParameters);
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const nlohmann::json v = c->call(req.call, "GET", volumeById(uuid), nullptr, "get volume");
  if (v.value("type", "") != "Primary")
    throw Error(Code::kNotFound, "volume " + req.volumeId + " does not exist");
  // Setting the values a volume already has is accepted by the array: no need to compare.
  c->call(req.call, "PATCH", "volume/" + uuid, change, "modify volume");
  host_.info("volume " + req.volumeId + ": " + change.dump());
}

Snapshot PowerStoreBackend::createSnapshot(const CreateSnapshotRequest& req) {
  checkName(req.name, "snapshot");
  if (!req.groupSnapshotId.empty()) checkName(req.groupSnapshotId, "group snapshot");
  auto [c, sourceUuid] = resolve(req.sourceVolumeId, "volume");
  nlohmann::json snap =
      exactName(c->getAll(req.call, byName("volume", kVolumeSelect, req.name)), req.name);
  if (!snap.is_null()) {
    if (snap.value("type", "") != "Snapshot" || sourceOf(snap) != sourceUuid)
      throw Error(Code::kAlreadyExists,
                  "snapshot name '" + req.name + "' is in use by another object");
    if (groupOf(snap) != req.groupSnapshotId)
      throw Error(Code::kAlreadyExists, "snapshot '" + req.name + "' exists in group '" +
                                            groupOf(snap) + "', not '" + req.groupSnapshotId +
                                            "' (empty: on its own)");
  } else {
    nlohmann::json body = {{"name", req.name}};
    if (!req.groupSnapshotId.empty())
      body["description"] = std::string(kGroupDescriptionPrefix) + req.groupSnapshotId;
    const nlohmann::json created =
        c->call(req.call, "POST", "volume/" + sourceUuid + "/snapshot", body, "create snapshot");
    snap = c->call(req.call, "GET", volumeById(created.at("id").get<std::string>()));
  }
  Snapshot s;
  s.id = c->array().globalID + "." + snap.at("id").get<std::string>();
  s.sourceVolumeId = req.sourceVolumeId;
  s.sizeBytes = sizeOf(snap);
  s.creationTimeUnixNs = createdAt(snap);
  s.groupSnapshotId = groupOf(snap);
  return s;
}

void PowerStoreBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  auto [c, uuid] = resolve(req.snapshotId, "snapshot");
  const RestResponse response = c->send(req.call, "DELETE", "volume/" + uuid);
  if (response.status == 404 || (response.status >= 200 && response.status < 300)) return;
  // The array refuses to delete a member of a snapshot set on its own (DELETE volume/{id}: "a
  // member of a volume group cannot be deleted"): CSI's "snapshot is part of a group".
  if (response.status == 422) {
    const std::string group = groupOf(
        c->call(req.call, "GET", volumeById(uuid), nullptr, "get snapshot " + req.snapshotId));
    if (!group.empty())
      throw Error(Code::kInvalidArgument,
                  "snapshot " + req.snapshotId + " is a member of group snapshot " + group +
                      ", a PowerStore snapshot set, which the array deletes only whole (" +
                      RestClient::messageOf(response) +
                      "): delete the group snapshot (DeleteVolumeGroupSnapshot)");
  }
  throw Error(Code::kUnavailable,
              "delete snapshot " + req.snapshotId + ": " + RestClient::messageOf(response));
}

SnapshotPage PowerStoreBackend::listSnapshots(const ListRequest& req) {
  std::vector<Snapshot> all;
  for (const auto& [globalID, c] : clients_) {
    const nlohmann::json list =
        c->getAll(req.call, std::string("volume?") + kVolumeSelect + "&type=eq.Snapshot");
    for (const auto& v : list) {
      Snapshot s;
      s.id = globalID + "." + v.at("id").get<std::string>();
      s.sourceVolumeId = globalID + "." + sourceOf(v);
      s.sizeBytes = sizeOf(v);
      s.creationTimeUnixNs = createdAt(v);
      s.groupSnapshotId = groupOf(v);
      if (!req.snapshotId.empty() && s.id != req.snapshotId) continue;
      if (!req.sourceVolumeId.empty() && s.sourceVolumeId != req.sourceVolumeId) continue;
      if (!req.groupSnapshotId.empty() && s.groupSnapshotId != req.groupSnapshotId) continue;
      all.push_back(std::move(s));
    }
  }
  auto page = paging::pageFromOffset(std::move(all), req,
                                     [](const Snapshot& s) -> const std::string& { return s.id; });
  return SnapshotPage{.snapshots = std::move(page.items), .nextToken = std::move(page.nextToken)};
}

nlohmann::json PowerStoreBackend::findHost(RestClient& c, const Call& call,
                                           const std::string& nodeName, const std::string& iqn) {
  checkName(nodeName, "node");
  nlohmann::json host = exactName(c.getAll(call, byName("host", kHostSelect, nodeName)), nodeName);
  if (!host.is_null() || iqn.empty()) return host;
  // A host of another name may hold the node's IQN (registered by hand or by Dell's driver);
  // the array allows an initiator on one host only, so that host is the node's. Dell's driver
  // reads every host for the same reason (dell/csi-powerstore pkg/node/node.go, GetHosts).
  for (const auto& h : c.getAll(call, std::string("host?") + kHostSelect + "&order=name")) {
    if (initiatorOf(h, iqn) != nullptr) {
      host_.info("iscsi_powerstore: node '" + nodeName + "' is host '" + h.value("name", "") +
                 "' on " + c.array().globalID + ", which holds its initiator " + iqn);
      return h;
    }
  }
  return nullptr;
}

const nlohmann::json* PowerStoreBackend::initiatorOf(const nlohmann::json& host,
                                                     const std::string& iqn) {
  const auto list = host.find("initiators");
  if (list == host.end() || !list->is_array()) return nullptr;
  for (const auto& i : *list)
    if (i.is_object() && i.value("port_name", "") == iqn) return &i;
  return nullptr;
}

nlohmann::json PowerStoreBackend::findOrCreateHost(RestClient& c, const Call& call,
                                                   const std::string& nodeName,
                                                   const std::string& iqn) {
  nlohmann::json host = findHost(c, call, nodeName, iqn);
  const bool chap = !config_.chapUser.empty();
  if (host.is_null()) {
    // CHAP is set per initiator (dell/gopowerstore host_types.go, InitiatorCreateModify:
    // chap_single_username/_password, and chap_mutual_username/_password for mutual CHAP).
    nlohmann::json initiator = {{"port_name", iqn}, {"port_type", "iSCSI"}};
    if (chap) initiator.update(chapAttributes());
    const nlohmann::json created = c.call(call, "POST", "host",
                                          {{"name", nodeName},
                                           {"os_type", "Linux"},
                                           {"initiators", nlohmann::json::array({initiator})}},
                                          "create host " + nodeName);
    return c.call(call, "GET", "host/" + created.at("id").get<std::string>() + "?" + kHostSelect);
  }
  const nlohmann::json* initiator = initiatorOf(host, iqn);
  if (initiator == nullptr) {
    throw Error(Code::kFailedPrecondition, "host '" + nodeName + "' on " + c.array().globalID +
                                               " does not hold initiator " + iqn +
                                               " (the node's IQN changed?)");
  }
  // The array never shows the secrets: the user names tell whether CHAP is set as configured.
  if (chap && (initiator->value("chap_single_username", "") != config_.chapUser ||
               (!config_.chapMutualUser.empty() &&
                initiator->value("chap_mutual_username", "") != config_.chapMutualUser))) {
    nlohmann::json change = chapAttributes();
    change["port_name"] = iqn;
    c.call(call, "PATCH", "host/" + host.at("id").get<std::string>(),
           {{"modify_initiators", nlohmann::json::array({change})}},
           "set CHAP on host " + nodeName);
  }
  return host;
}

nlohmann::json PowerStoreBackend::chapAttributes() const {
  nlohmann::json attributes = {{"chap_single_username", config_.chapUser},
                               {"chap_single_password", config_.chapPassword}};
  if (!config_.chapMutualUser.empty()) {
    attributes["chap_mutual_username"] = config_.chapMutualUser;
    attributes["chap_mutual_password"] = config_.chapMutualPassword;
  }
  return attributes;
}

StringMap PowerStoreBackend::publish(const PublishRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  if (req.nodeIdentity.rfind("iqn.", 0) != 0)
    throw Error(
        Code::kInvalidArgument,
        "node '" + req.nodeName + "' has no iSCSI initiator IQN (got '" + req.nodeIdentity + "')");
  const nlohmann::json host = findOrCreateHost(*c, req.call, req.nodeName, req.nodeIdentity);
  const std::string hostId = host.at("id");
  const std::string mappingsPath = std::string("host_volume_mapping?") + kMappingSelect +
                                   "&volume_id=eq." + RestClient::encode(uuid);
  nlohmann::json mine;
  for (const auto& m : c->getAll(req.call, mappingsPath, "read the volume's host mappings")) {
    if (m.value("host_id", "") == hostId) {
      mine = m;
    } else {
      throw Error(Code::kFailedPrecondition,
                  "volume " + req.volumeId + " is attached to another host (" +
                      m.value("host_id", "?") +
                      "); an iSCSI PowerStore volume is attached to one node at a time");
    }
  }
  if (mine.is_null()) {
    c->call(req.call, "POST", "host/" + hostId + "/attach", {{"volume_id", uuid}}, "attach volume");
    for (const auto& m : c->getAll(req.call, mappingsPath, "read the volume's host mappings"))
      if (m.value("host_id", "") == hostId) mine = m;
    if (mine.is_null()) throw Error(Code::kInternal, "the array did not record the attachment");
  }
  // The LUN is the mapping's; the targets are the IP ports' (one per port, each at its
  // address; portals listen on the iSCSI port, 3260 on an array).
  const auto lun = mine.find("logical_unit_number");
  if (lun == mine.end() || !lun->is_number_integer() || lun->get<int64_t>() < 0)
    throw Error(Code::kInternal, "the host mapping of volume " + req.volumeId + " on " +
                                     c->array().globalID + " has no logical_unit_number");
  std::vector<std::string> portals;
  std::vector<std::string> targets;
  for (const auto& a : c->getAll(req.call, kIscsiAddressesQuery, "read the iSCSI portals")) {
    const auto purposes = a.value("purposes", nlohmann::json::array());
    if (std::find(purposes.begin(), purposes.end(), "Storage_Iscsi_Target") == purposes.end())
      continue;
    const auto port = a.value("ip_port", nlohmann::json::object());
    const auto address = a.value("address", nlohmann::json());
    if (!port.is_object() || !port.contains("target_iqn") || !port["target_iqn"].is_string() ||
        !address.is_string())
      continue;
    const std::string ip = address.get<std::string>();
    const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    portals.push_back(host + ":" + std::to_string(config_.iscsiPort));
    targets.push_back(port["target_iqn"].get<std::string>());
  }
  if (portals.empty())
    throw Error(Code::kFailedPrecondition,
                "array " + c->array().globalID +
                    " reports no iSCSI target portal (no ip_pool_address with purpose "
                    "Storage_Iscsi_Target and an IP port target)");
  auto join = [](const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : ",") + item;
    return out;
  };
  return {{"portal", portals.front()},
          {"targetIqn", targets.front()},
          {"lun", std::to_string(lun->get<int64_t>())},
          {"portals", join(portals)},
          {"targetIqns", join(targets)}};
}

void PowerStoreBackend::unpublish(const PublishRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const nlohmann::json host = findHost(*c, req.call, req.nodeName, req.nodeIdentity);
  if (host.is_null()) return;
  const std::string hostId = host.at("id");
  bool attached = false;
  try {
    for (const auto& m : c->getAll(req.call,
                                   std::string("host_volume_mapping?") + kMappingSelect +
                                       "&volume_id=eq." + RestClient::encode(uuid),
                                   "read the volume's host mappings"))
      attached = attached || m.value("host_id", "") == hostId;
  } catch (const Error& e) {
    if (e.code() == Code::kNotFound) return;
    throw;
  }
  if (!attached) return;
  c->call(req.call, "POST", "host/" + hostId + "/detach", {{"volume_id", uuid}}, "detach volume");
}

IscsiNode& PowerStoreBackend::node() {
  if (!node_)
    throw Error(Code::kFailedPrecondition,
                "this iscsi_powerstore instance runs as a controller; node calls need role node");
  return *node_;
}

std::string PowerStoreBackend::nodeIdentity(const Call&) { return node().initiatorName(); }

Attachment PowerStoreBackend::attach(const AttachRequest& req) {
  const LunAddress lun = parseLunAddress(req.publishContext);
  return Attachment::blockDevice(node().attach(lun, req.stagingPath, req.call));
}

void PowerStoreBackend::detach(const DetachRequest& req) {
  node().detach(req.stagingPath, req.call);
}

VolumeCondition PowerStoreBackend::volumeCondition(const DetachRequest& req) {
  req.call.checkpoint("checking volume " + req.volumeId);
  return node().condition(req.stagingPath);
}

void PowerStoreBackend::nodeExpand(const NodeExpandRequest& req) {
  node();  // node role only
  if (config_.multipath) {
    MultipathMaps({config_.iscsiHostRoot, sysfs_.root(), process::runCommandOrThrow,
                   config_.requestTimeout, std::chrono::milliseconds(100)})
        .grow(sysfs_, req.devicePath, req.requiredBytes, req.call);
    return;
  }
  rescanScsiDisk(sysfs_, req.devicePath, req.requiredBytes, req.call);
}

}  // namespace polycsi::iscsi_powerstore

POLYCSI_PLUGIN(polycsi::iscsi_powerstore::PowerStoreBackend)
