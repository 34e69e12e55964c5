// Construction, descriptor, controller calls and the node entry points of iscsi_powerstore.
#include "powerstore_backend.hpp"

#include <algorithm>

namespace polycsi::iscsi_powerstore {
namespace {

constexpr int64_t kMiB = 1 << 20;
constexpr int64_t kMaxBytes = 256ll << 40;

Capability cell(AccessMode access, VolumeMode volume, AttachSemantics semantics,
                std::string reason = {}) {
  return Capability{access, volume, semantics, std::move(reason)};
}

// Names reach URLs as filter values: allow only what PowerStore names and CSI names use.
void checkName(const std::string& name, const char* what) {
  if (name.empty() || name.size() > 128)
    throw Error(Code::kInvalidArgument, std::string(what) + " name must be 1 to 128 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok)
      throw Error(Code::kInvalidArgument, std::string(what) + " name '" + name +
                                              "' may hold only letters, digits, '-', '_' and '.'");
  }
}

// The array's size for a request: at least required (or 1 MiB), rounded up to whole MiB.
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

int64_t sizeOf(const nlohmann::json& volume) { return volume.at("size").get<int64_t>(); }

std::string sourceOf(const nlohmann::json& volume) {
  const auto& protection = volume.value("protection_data", nlohmann::json::object());
  const auto source = protection.find("source_id");
  return source != protection.end() && source->is_string() ? source->get<std::string>() : "";
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
    d.capabilities.push_back(cell(A::kSingleNodeWriter, mode, S::kExclusive));
    d.capabilities.push_back(cell(A::kSingleNodeSingleWriter, mode, S::kExclusive));
    d.capabilities.push_back(cell(A::kSingleNodeMultiWriter, mode, S::kExclusive));
    d.capabilities.push_back(cell(A::kSingleNodeReaderOnly, mode, S::kExclusive));
    d.capabilities.push_back(cell(A::kMultiNodeReaderOnly, mode, S::kUnsupported, rwx));
    d.capabilities.push_back(cell(A::kMultiNodeSingleWriter, mode, S::kUnsupported, rwx));
    d.capabilities.push_back(cell(A::kMultiNodeMultiWriter, mode, S::kUnsupported, rwx));
  }
  d.settings = pluginSettingSpecs();
  d.parameters = {SettingSpec{"arrayID", SettingKind::kString, false, false,
                              "globalID of the array to create on; default: the isDefault one."}};
  return d;
}

PowerStoreBackend::PowerStoreBackend(const InitContext& ctx)
    : host_(ctx.host), config_(parsePluginConfig(ctx.settings, ctx.settingsJson)) {
  for (const ArrayConfig& a : config_.arrays) {
    if (a.skipCertificateValidation)
      host_.warn("iscsi_powerstore: skipCertificateValidation is set for array " + a.globalID +
                 ": its TLS certificate is NOT verified, so a man-in-the-middle can take the "
                 "credentials");
    if (!a.nasName.empty() || !a.nfsAcls.empty())
      host_.info("iscsi_powerstore: array " + a.globalID +
                 ": nasName/nfsAcls are for NFS volumes, which this plugin does not create");
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
    options.initiatorNameFile = config_.initiatorNameFile;
    options.stateDir = ctx.stateDir;
    options.deviceWaitTimeout = config_.deviceWaitTimeout;
    options.nodeDbDir = config_.iscsiNodeDbDir;
    if (!config_.chapUser.empty())
      options.chap = ChapSecret{config_.chapUser, config_.chapPassword};
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
  const nlohmann::json found = c.call(req.call, "GET", "volume?name=eq." + req.name);
  if (found.is_array() && !found.empty()) {
    const nlohmann::json& v = found[0];
    if (v.value("type", "") != "Primary" || sizeOf(v) < req.requiredBytes ||
        (req.limitBytes > 0 && sizeOf(v) > req.limitBytes) || !sourceOf(v).empty()) {
      throw Error(Code::kAlreadyExists, "volume '" + req.name + "' exists on " +
                                            c.array().globalID + " with another size or source");
    }
    return toVolume(c, v);
  }
  const nlohmann::json created =
      c.call(req.call, "POST", "volume", {{"name", req.name}, {"size", size}}, "create volume");
  return toVolume(c, c.call(req.call, "GET", "volume/" + created.at("id").get<std::string>()));
}

Volume PowerStoreBackend::createCopy(const CreateVolumeRequest& req, const char* kind) {
  checkName(req.name, "volume");
  auto [c, sourceUuid] = resolve(req.sourceId, kind);
  const nlohmann::json found = c->call(req.call, "GET", "volume?name=eq." + req.name);
  nlohmann::json volume;
  if (found.is_array() && !found.empty()) {
    volume = found[0];
    if (volume.value("type", "") != "Primary" || sourceOf(volume) != sourceUuid)
      throw Error(Code::kAlreadyExists,
                  "volume '" + req.name + "' exists with another source than " + req.sourceId);
  } else {
    const nlohmann::json source = c->call(req.call, "GET", "volume/" + sourceUuid);
    const bool wantSnapshot = std::string(kind) == "snapshot";
    if ((source.value("type", "") == "Snapshot") != wantSnapshot)
      throw Error(Code::kNotFound, std::string(kind) + " " + req.sourceId + " does not exist");
    const nlohmann::json created = c->call(req.call, "POST", "volume/" + sourceUuid + "/clone",
                                           {{"name", req.name}}, std::string("copy ") + kind);
    volume = c->call(req.call, "GET", "volume/" + created.at("id").get<std::string>());
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
  const nlohmann::json v = c->call(req.call, "GET", "volume/" + uuid, nullptr, "get volume");
  if (v.value("type", "") != "Primary")
    throw Error(Code::kNotFound, "volume " + req.volumeId + " does not exist");
  return toVolume(*c, v);
}

ExpandResult PowerStoreBackend::expandVolume(const ExpandRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  const nlohmann::json v = c->call(req.call, "GET", "volume/" + uuid, nullptr, "get volume");
  const int64_t wanted = sizeFor(req.requiredBytes, req.limitBytes);
  if (sizeOf(v) < wanted) {
    c->call(req.call, "PATCH", "volume/" + uuid, {{"size", wanted}}, "expand volume");
    return ExpandResult{wanted, true};
  }
  return ExpandResult{sizeOf(v), true};
}

Snapshot PowerStoreBackend::createSnapshot(const CreateSnapshotRequest& req) {
  checkName(req.name, "snapshot");
  auto [c, sourceUuid] = resolve(req.sourceVolumeId, "volume");
  const nlohmann::json found = c->call(req.call, "GET", "volume?name=eq." + req.name);
  nlohmann::json snap;
  if (found.is_array() && !found.empty()) {
    snap = found[0];
    if (snap.value("type", "") != "Snapshot" || sourceOf(snap) != sourceUuid)
      throw Error(Code::kAlreadyExists,
                  "snapshot name '" + req.name + "' is in use by another object");
  } else {
    const nlohmann::json created = c->call(req.call, "POST", "volume/" + sourceUuid + "/snapshot",
                                           {{"name", req.name}}, "create snapshot");
    snap = c->call(req.call, "GET", "volume/" + created.at("id").get<std::string>());
  }
  Snapshot s;
  s.id = c->array().globalID + "." + snap.at("id").get<std::string>();
  s.sourceVolumeId = req.sourceVolumeId;
  s.sizeBytes = sizeOf(snap);
  return s;
}

void PowerStoreBackend::deleteSnapshot(const SnapshotIdRequest& req) {
  auto [c, uuid] = resolve(req.snapshotId, "snapshot");
  const RestResponse response = c->send(req.call, "DELETE", "volume/" + uuid);
  if (response.status == 404 || (response.status >= 200 && response.status < 300)) return;
  throw Error(Code::kUnavailable,
              "delete snapshot " + req.snapshotId + ": " + RestClient::messageOf(response));
}

SnapshotPage PowerStoreBackend::listSnapshots(const ListRequest& req) {
  std::vector<Snapshot> all;
  for (const auto& [globalID, c] : clients_) {
    const nlohmann::json list = c->call(req.call, "GET", "volume?type=eq.Snapshot");
    for (const auto& v : list) {
      Snapshot s;
      s.id = globalID + "." + v.at("id").get<std::string>();
      s.sourceVolumeId = globalID + "." + sourceOf(v);
      s.sizeBytes = sizeOf(v);
      if (!req.snapshotId.empty() && s.id != req.snapshotId) continue;
      if (!req.sourceVolumeId.empty() && s.sourceVolumeId != req.sourceVolumeId) continue;
      all.push_back(std::move(s));
    }
  }
  std::sort(all.begin(), all.end(),
            [](const Snapshot& a, const Snapshot& b) { return a.id < b.id; });
  std::size_t start = 0;
  if (!req.startingToken.empty()) {
    if (req.startingToken.find_first_not_of("0123456789") != std::string::npos ||
        req.startingToken.size() > 9)
      throw Error(Code::kAborted, "starting token '" + req.startingToken + "' is not valid");
    start = std::stoul(req.startingToken);
    if (start > all.size()) throw Error(Code::kAborted, "starting token is past the end");
  }
  SnapshotPage page;
  const std::size_t end =
      req.maxEntries > 0 ? std::min(all.size(), start + static_cast<std::size_t>(req.maxEntries))
                         : all.size();
  page.snapshots.assign(all.begin() + static_cast<std::ptrdiff_t>(start),
                        all.begin() + static_cast<std::ptrdiff_t>(end));
  if (end < all.size()) page.nextToken = std::to_string(end);
  return page;
}

nlohmann::json PowerStoreBackend::findOrCreateHost(RestClient& c, const Call& call,
                                                   const std::string& nodeName,
                                                   const std::string& iqn) {
  checkName(nodeName, "node");
  const nlohmann::json found = c.call(call, "GET", "host?name=eq." + nodeName);
  if (found.is_array() && !found.empty()) {
    const nlohmann::json& h = found[0];
    for (const auto& i : h.value("initiators", nlohmann::json::array()))
      if (i.value("port_name", "") == iqn) return h;
    throw Error(Code::kFailedPrecondition, "host '" + nodeName + "' on " + c.array().globalID +
                                               " does not hold initiator " + iqn +
                                               " (the node's IQN changed?)");
  }
  const nlohmann::json created =
      c.call(call, "POST", "host",
             {{"name", nodeName},
              {"os_type", "Linux"},
              {"initiators", {{{"port_name", iqn}, {"port_type", "iSCSI"}}}}},
             "create host " + nodeName);
  return c.call(call, "GET", "host/" + created.at("id").get<std::string>());
}

StringMap PowerStoreBackend::publish(const PublishRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  if (req.nodeIdentity.rfind("iqn.", 0) != 0)
    throw Error(
        Code::kInvalidArgument,
        "node '" + req.nodeName + "' has no iSCSI initiator IQN (got '" + req.nodeIdentity + "')");
  const nlohmann::json host = findOrCreateHost(*c, req.call, req.nodeName, req.nodeIdentity);
  const std::string hostId = host.at("id");
  auto mappingsOf = [&, uuid = uuid, c = c] {
    return c->call(req.call, "GET", "host_volume_mapping?volume_id=eq." + uuid);
  };
  nlohmann::json mine;
  for (const auto& m : mappingsOf()) {
    if (m.at("host_id") == hostId) {
      mine = m;
    } else {
      throw Error(Code::kFailedPrecondition,
                  "volume " + req.volumeId + " is attached to another host (" +
                      m.at("host_id").get<std::string>() +
                      "); an iSCSI PowerStore volume is attached to one node at a time");
    }
  }
  if (mine.is_null()) {
    c->call(req.call, "POST", "host/" + hostId + "/attach", {{"volume_id", uuid}}, "attach volume");
    for (const auto& m : mappingsOf())
      if (m.at("host_id") == hostId) mine = m;
    if (mine.is_null()) throw Error(Code::kInternal, "the array did not record the attachment");
  }
  const nlohmann::json pools = c->call(req.call, "GET", "ip_pool_address");
  std::string portal;
  std::string target;
  for (const auto& p : pools) {
    const auto purposes = p.value("purposes", nlohmann::json::array());
    if (std::find(purposes.begin(), purposes.end(), "Storage_Iscsi_Target") == purposes.end())
      continue;
    portal = p.at("address").get<std::string>() + ":" + std::to_string(p.value("port", 3260));
    const auto port = p.value("ip_port", nlohmann::json::object());
    if (port.contains("target_iqn") && port["target_iqn"].is_string()) target = port["target_iqn"];
    break;
  }
  if (mine.contains("target_iqn") && mine["target_iqn"].is_string()) target = mine["target_iqn"];
  if (portal.empty() || target.empty())
    throw Error(Code::kFailedPrecondition,
                "array " + c->array().globalID + " reports no iSCSI target portal");
  return {{"portal", portal},
          {"targetIqn", target},
          {"lun", std::to_string(mine.value("logical_unit_number", 0))}};
}

void PowerStoreBackend::unpublish(const PublishRequest& req) {
  auto [c, uuid] = resolve(req.volumeId, "volume");
  checkName(req.nodeName, "node");
  const nlohmann::json hosts = c->call(req.call, "GET", "host?name=eq." + req.nodeName);
  if (!hosts.is_array() || hosts.empty()) return;
  const std::string hostId = hosts[0].at("id");
  const RestResponse mappings =
      c->send(req.call, "GET", "host_volume_mapping?volume_id=eq." + uuid);
  if (mappings.status == 404) return;
  bool attached = false;
  if (mappings.body.is_array())
    for (const auto& m : mappings.body) attached = attached || m.value("host_id", "") == hostId;
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

}  // namespace polycsi::iscsi_powerstore

POLYCSI_PLUGIN(polycsi::iscsi_powerstore::PowerStoreBackend)
