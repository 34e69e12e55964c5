#include "rest_server.hpp"

#include <httplib.h>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "api_error.hpp"
#include "query.hpp"

namespace powerstore_sim {
namespace {

constexpr const char* kPrefix = "/api/rest/";
constexpr const char* kCookieName = "auth_cookie";
constexpr const char* kTokenHeader = "DELL-EMC-TOKEN";

std::string base64Decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const std::size_t index = kAlphabet.find(c);
    if (index == std::string::npos) return {};
    value = (value << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xff));
    }
  }
  return out;
}

std::string randomToken() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static const char kChars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<int> pick(0, 61);
  std::string token(40, ' ');
  for (char& c : token) c = kChars[pick(generator)];
  return token;
}

void sendJson(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void sendError(httplib::Response& res, const ApiError& error) {
  sendJson(res, error.status(), error.body());
}

nlohmann::json parseBody(const httplib::Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  try {
    nlohmann::json body = nlohmann::json::parse(req.body);
    if (!body.is_object())
      throw ApiError(400, kCodeBadRequest, "The request body must be an object.");
    return body;
  } catch (const nlohmann::json::parse_error& e) {
    throw ApiError(400, kCodeBadRequest, std::string("The request body is not JSON: ") + e.what());
  }
}

std::string requiredString(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || !it->is_string() || it->get<std::string>().empty()) {
    throw ApiError(400, kCodeBadRequest, std::string("The field ") + field + " is required.",
                   {field});
  }
  return it->get<std::string>();
}

std::string optionalString(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A string attribute that may be left out (nullopt) but, when given, is a string.
std::optional<std::string> presentString(const nlohmann::json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end()) return std::nullopt;
  if (!it->is_string())
    throw ApiError(400, kCodeBadRequest, std::string("The field ") + field + " must be a string.",
                   {field});
  return it->get<std::string>();
}

// The policy attributes of POST volume and PATCH volume/{id} (PowerStore REST API 4.1 OpenAPI,
// `volume_create` and `volume_modify`): strings; protection_policy_id is nullable in a modify
// (null, like "", removes the volume's policy).
SimVolumeChange policiesOf(const nlohmann::json& body, bool nullable) {
  SimVolumeChange change;
  change.performance_policy_id = presentString(body, "performance_policy_id");
  auto it = body.find("protection_policy_id");
  if (nullable && it != body.end() && it->is_null())
    change.protection_policy_id = std::string();
  else
    change.protection_policy_id = presentString(body, "protection_policy_id");
  return change;
}

std::uint64_t requiredSize(const nlohmann::json& body) {
  auto it = body.find("size");
  if (it == body.end() || !it->is_number_unsigned()) {
    throw ApiError(400, kCodeBadRequest, "The field size must be a positive integer.", {"size"});
  }
  return it->get<std::uint64_t>();
}

// The attribute sets of the types the simulator serves. Each is a subset of what the array
// defines (dell/gopowerstore volume_types.go, host_types.go, ip_pool_address_types.go and
// cluster_types.go name the real attributes); an attribute outside it answers 400 here.
const ResourceType kVolumeType{
    "volume",
    {"id", "name", "description", "type", "size", "state", "wwn", "creation_timestamp",
     "protection_data", "performance_policy_id", "protection_policy_id"},
    // `volume_instance` volume_groups: "List of the volume_groups that are associated with this
    // volume" (OpenAPI 4.1); gopowerstore GetVolumeGroupsByVolumeID selects
    // volume_groups(id,name,protection_policy_id).
    {{"volume_groups", {"id", "name", "description", "type"}}}};
// `volume_group_instance` (OpenAPI 4.1; gopowerstore volume_group_types.go VolumeGroup), the
// attributes the simulator models; `volumes` is the members as volume objects.
const ResourceType kVolumeGroupType{
    "volume_group",
    {"id", "name", "description", "type", "is_write_order_consistent", "creation_timestamp",
     "protection_data"},
    {{"volumes",
      {"id", "name", "description", "type", "size", "state", "wwn", "creation_timestamp",
       "protection_data", "performance_policy_id", "protection_policy_id"}}}};
const ResourceType kHostType{"host", {"id", "name", "os_type", "initiators"}, {}};
const ResourceType kMappingType{
    "host_volume_mapping",
    {"id", "host_id", "host_group_id", "volume_id", "logical_unit_number"},
    {}};
const ResourceType kIpPoolAddressType{
    "ip_pool_address",
    {"id", "name", "network_id", "ip_port_id", "appliance_id", "node_id", "address", "purposes"},
    {{"ip_port", {"id", "target_iqn"}}}};
const ResourceType kClusterType{"cluster", {"id", "global_id", "name", "state"}, {}};
// The cluster's CHAP setting: one instance, id "0", whose `mode` is Disabled, Single or Mutual
// (openstack/cinder cinder/volume/drivers/dell_emc/powerstore/client.py get_chap_config reads
// chap_config/0?select=mode; adapter.py compares it with "Single").
const ResourceType kChapConfigType{"chap_config", {"id", "mode"}, {}};
const ResourceType kLoginSessionType{
    "login_session", {"id", "user", "role_ids", "idle_timeout", "is_password_change_required"}, {}};

// Refuses a body attribute the call does not define, as the array does (400).
void allowOnly(const nlohmann::json& body, const std::set<std::string>& allowed,
               const std::string& call) {
  for (const auto& [key, value] : body.items()) {
    if (allowed.count(key) == 0) {
      throw ApiError(400, kCodeBadRequest,
                     "Unknown attribute '" + key + "' in the body of " + call + ".", {key});
    }
  }
}

// A list of ids (volume_ids): an array of strings, else 400 naming the field.
std::vector<std::string> idList(const nlohmann::json& body, const char* field, bool required) {
  auto it = body.find(field);
  if (it == body.end()) {
    if (required)
      throw ApiError(400, kCodeBadRequest, std::string("The field ") + field + " is required.",
                     {field});
    return {};
  }
  if (!it->is_array())
    throw ApiError(400, kCodeBadRequest, std::string("The field ") + field + " must be a list.",
                   {field});
  std::vector<std::string> ids;
  for (const auto& id : *it) {
    if (!id.is_string())
      throw ApiError(400, kCodeBadRequest,
                     std::string("The field ") + field + " must hold volume ids.", {field});
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

// A boolean attribute, `fallback` when left out; 400 for another type.
bool optionalBool(const nlohmann::json& body, const char* field, bool fallback) {
  auto it = body.find(field);
  if (it == body.end()) return fallback;
  if (!it->is_boolean())
    throw ApiError(400, kCodeBadRequest, std::string("The field ") + field + " must be a boolean.",
                   {field});
  return it->get<bool>();
}

std::multimap<std::string, std::string> paramsOf(const httplib::Request& req) {
  return {req.params.begin(), req.params.end()};
}

// Answers a collection GET over `all` (full objects).
void sendCollection(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                    const std::vector<nlohmann::json>& all) {
  const CollectionPage page =
      queryCollection(type, all, paramsOf(req), req.get_header_value("Range"));
  if (!page.content_range.empty()) res.set_header("Content-Range", page.content_range);
  sendJson(res, page.status, page.body);
}

void sendInstance(const httplib::Request& req, httplib::Response& res, const ResourceType& type,
                  const nlohmann::json& full) {
  sendJson(res, 200, queryInstance(type, full, paramsOf(req)));
}

// Runs `body`, turning ApiError into Dell's error response.
template <typename Body>
httplib::Server::Handler guarded(Body body) {
  return [body](const httplib::Request& req, httplib::Response& res) {
    try {
      body(req, res);
    } catch (const ApiError& error) {
      sendError(res, error);
    } catch (const std::exception& error) {
      sendError(res,
                ApiError(500, "0xE00000000001", std::string("Internal error: ") + error.what()));
    }
  };
}

}  // namespace

nlohmann::json RestServer::volumeJson(const SimVolume& volume,
                                      const std::vector<SimVolumeGroup>& groups) {
  nlohmann::json json = toJson(volume);
  json["volume_groups"] = nlohmann::json::array();
  for (const SimVolumeGroup& g : groups)
    if (std::find(g.volume_ids.begin(), g.volume_ids.end(), volume.id) != g.volume_ids.end())
      json["volume_groups"].push_back(toJson(g));
  return json;
}

nlohmann::json RestServer::groupJson(const SimVolumeGroup& group) {
  nlohmann::json json = toJson(group);
  json["volumes"] = nlohmann::json::array();
  const std::vector<SimVolumeGroup> groups = store_.volumeGroups();
  for (const std::string& id : group.volume_ids)
    json["volumes"].push_back(volumeJson(store_.volume(id), groups));
  return json;
}

RestServer::RestServer(RestServerOptions options, ArrayStore& store)
    : options_(std::move(options)), store_(store) {
  server_ = std::make_unique<httplib::SSLServer>(options_.certificate_file.c_str(),
                                                 options_.private_key_file.c_str());
  if (!server_->is_valid()) {
    throw std::runtime_error("cannot load the TLS certificate " + options_.certificate_file +
                             " or key " + options_.private_key_file);
  }
  if (!options_.request_log.empty()) {
    request_log_.open(options_.request_log, std::ios::app);
    if (!request_log_)
      throw std::runtime_error("cannot open the request log " + options_.request_log);
  }
  server_->set_read_timeout(30, 0);
  server_->set_write_timeout(30, 0);
  routes();
}

RestServer::~RestServer() = default;

std::uint16_t RestServer::bind() {
  int port = options_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(options_.listen_address);
  } else if (!server_->bind_to_port(options_.listen_address, port)) {
    port = -1;
  }
  if (port <= 0) throw std::runtime_error("cannot listen on " + options_.listen_address);
  return static_cast<std::uint16_t>(port);
}

void RestServer::run() { server_->listen_after_bind(); }

void RestServer::stop() { server_->stop(); }

bool RestServer::basicAuthOk(const std::string& header) const {
  if (header.rfind("Basic ", 0) != 0) return false;
  const std::string decoded = base64Decode(header.substr(6));
  return decoded == options_.username + ":" + options_.password;
}

const RestServer::Session* RestServer::sessionFromCookie(const std::string& cookie_header) {
  const std::string key = std::string(kCookieName) + "=";
  const std::size_t at = cookie_header.find(key);
  if (at == std::string::npos) return nullptr;
  const std::size_t end = cookie_header.find(';', at);
  const std::string value = cookie_header.substr(
      at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
  auto it = sessions_.find(value);
  if (it == sessions_.end()) return nullptr;
  const auto now = std::chrono::steady_clock::now();
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.expires = now + options_.session_ttl;
  return &it->second;
}

void RestServer::routes() {
  httplib::SSLServer& s = *server_;

  // Authentication for every call, as the array does it.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (request_log_.is_open()) {
      std::lock_guard lock(request_log_mutex_);
      request_log_ << req.method << ' ' << req.target << '\t' << req.get_header_value("User-Agent")
                   << '\n'
                   << std::flush;
    }
    const bool basic = basicAuthOk(req.get_header_value("Authorization"));
    if (req.path.rfind("/sim/", 0) == 0 || req.path == std::string(kPrefix) + "login_session") {
      if (basic) return httplib::Server::HandlerResponse::Unhandled;
      sendError(res, ApiError(401, kCodeUnauthorized, "Authentication failed."));
      return httplib::Server::HandlerResponse::Handled;
    }
    std::lock_guard lock(sessions_mutex_);
    const Session* session = sessionFromCookie(req.get_header_value("Cookie"));
    if (!basic && session == nullptr) {
      sendError(res, ApiError(401, kCodeUnauthorized, "Authentication failed."));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" &&
        (session == nullptr || req.get_header_value(kTokenHeader) != session->token)) {
      sendError(res, ApiError(403, kCodeForbidden,
                              "The session token is missing, wrong or expired; log in again."));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      sendError(res,
                ApiError(404, kCodeNotFound, "No such resource: " + req.method + " " + req.path));
    }
  });

  const std::string p = kPrefix;
  s.Get(p + "login_session", guarded([this](const httplib::Request& req, httplib::Response& res) {
          const std::string cookie = randomToken();
          Session session{randomToken(), std::chrono::steady_clock::now() + options_.session_ttl};
          {
            std::lock_guard lock(sessions_mutex_);
            sessions_[cookie] = session;
          }
          res.set_header(kTokenHeader, session.token);
          res.set_header("Set-Cookie",
                         std::string(kCookieName) + "=" + cookie + "; Path=/; Secure; HttpOnly");
          sendCollection(req, res, kLoginSessionType,
                         {{{"id", cookie.substr(0, 8)},
                           {"user", options_.username},
                           {"role_ids", {"1"}},
                           {"idle_timeout", options_.session_ttl.count()},
                           {"is_password_change_required", false}}});
        }));
  s.Post("/sim/expire_sessions", guarded([this](const httplib::Request&, httplib::Response& res) {
           std::lock_guard lock(sessions_mutex_);
           sessions_.clear();
           res.status = 204;
         }));
  s.Post("/sim/seed_hosts", guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"prefix", "count", "volume_id"}, "POST /sim/seed_hosts");
           const auto count = body.find("count");
           if (count == body.end() || !count->is_number_unsigned() || *count > 100000) {
             throw ApiError(400, kCodeBadRequest, "count must be 0 to 100000.", {"count"});
           }
           store_.seedHosts(requiredString(body, "prefix"), count->get<int>(),
                            optionalString(body, "volume_id"));
           res.status = 204;
         }));
  // Simulator only: a protection policy volumes may then name (a real array's come from
  // POST policy, which the simulator does not serve).
  s.Post("/sim/protection_policy",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"id", "name"}, "POST /sim/protection_policy");
           store_.addProtectionPolicy(requiredString(body, "id"), requiredString(body, "name"));
           res.status = 204;
         }));
  s.Get(p + "cluster", guarded([this](const httplib::Request& req, httplib::Response& res) {
          sendCollection(req, res, kClusterType,
                         {{{"id", "0"},
                           {"global_id", options_.global_id},
                           {"name", options_.global_id},
                           {"state", "Configured"}}});
        }));
  s.Get(p + "chap_config", guarded([this](const httplib::Request& req, httplib::Response& res) {
          sendCollection(req, res, kChapConfigType, {{{"id", "0"}, {"mode", store_.chapMode()}}});
        }));
  s.Get(p + R"(chap_config/(\w+))",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          if (req.matches[1] != "0")
            throw ApiError(404, kCodeNotFound,
                           "The chap_config " + req.matches[1].str() + " does not exist.");
          sendInstance(req, res, kChapConfigType, {{"id", "0"}, {"mode", store_.chapMode()}});
        }));
  s.Patch(p + R"(chap_config/(\w+))",
          guarded([this](const httplib::Request& req, httplib::Response& res) {
            if (req.matches[1] != "0")
              throw ApiError(404, kCodeNotFound,
                             "The chap_config " + req.matches[1].str() + " does not exist.");
            const nlohmann::json body = parseBody(req);
            allowOnly(body, {"mode"}, "PATCH chap_config");
            store_.setChapMode(requiredString(body, "mode"));
            res.status = 204;
          }));
  // iSCSI targets belong to IP ports: each Storage_Iscsi_Target address names its port's
  // target (ip_port.target_iqn). There is no TCP port attribute: portals listen on 3260
  // (dell/gopowerstore ip_pool_address_types.go lists the attributes). One more address with
  // another purpose shows that clients must filter on purposes.
  s.Get(p + "ip_pool_address", guarded([this](const httplib::Request& req, httplib::Response& res) {
          std::vector<nlohmann::json> all;
          for (const SimIpPort& port : store_.ports()) {
            all.push_back({{"id", port.address_id},
                           {"name", "iSCSI " + port.address},
                           {"network_id", "NW2"},
                           {"ip_port_id", port.id},
                           {"appliance_id", "A1"},
                           {"node_id", port.node_id},
                           {"address", port.address},
                           {"purposes", {"Storage_Iscsi_Target"}},
                           {"ip_port", {{"id", port.id}, {"target_iqn", port.target_iqn}}}});
          }
          all.push_back({{"id", "IP_MGMT"},
                         {"name", "management"},
                         {"network_id", "NW1"},
                         {"ip_port_id", nullptr},
                         {"appliance_id", "A1"},
                         {"node_id", nullptr},
                         {"address", "127.0.0.1"},
                         {"purposes", {"Mgmt_Cluster_Floating"}},
                         {"ip_port", nullptr}});
          sendCollection(req, res, kIpPoolAddressType, all);
        }));

  // Volumes.
  s.Post(p + "volume", guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(
               body,
               {"name", "size", "description", "performance_policy_id", "protection_policy_id"},
               "POST volume");
           const SimVolume v =
               store_.createVolume(requiredString(body, "name"), requiredSize(body),
                                   optionalString(body, "description"), policiesOf(body, false));
           sendJson(res, 201, {{"id", v.id}});
         }));
  s.Get(p + "volume", guarded([this](const httplib::Request& req, httplib::Response& res) {
          const std::vector<SimVolumeGroup> groups = store_.volumeGroups();
          std::vector<nlohmann::json> all;
          for (const SimVolume& v : store_.volumes()) all.push_back(volumeJson(v, groups));
          sendCollection(req, res, kVolumeType, all);
        }));
  s.Get(p + R"(volume/([0-9a-f-]+))",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          sendInstance(req, res, kVolumeType,
                       volumeJson(store_.volume(req.matches[1]), store_.volumeGroups()));
        }));
  s.Patch(p + R"(volume/([0-9a-f-]+))",
          guarded([this](const httplib::Request& req, httplib::Response& res) {
            const nlohmann::json body = parseBody(req);
            allowOnly(
                body,
                {"name", "description", "size", "performance_policy_id", "protection_policy_id"},
                "PATCH volume");
            SimVolumeChange change = policiesOf(body, true);
            if (body.contains("size")) change.size = requiredSize(body);
            change.name = presentString(body, "name");
            change.description = presentString(body, "description");
            store_.modifyVolume(req.matches[1], change);
            res.status = 204;
          }));
  s.Delete(p + R"(volume/([0-9a-f-]+))",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             allowOnly(parseBody(req), {}, "DELETE volume");
             store_.deleteVolume(req.matches[1]);
             res.status = 204;
           }));
  s.Post(p + R"(volume/([0-9a-f-]+)/snapshot)",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"name", "description"}, "POST volume/{id}/snapshot");
           const SimVolume v = store_.snapshot(req.matches[1], requiredString(body, "name"),
                                               optionalString(body, "description"));
           sendJson(res, 201, {{"id", v.id}});
         }));
  s.Post(p + R"(volume/([0-9a-f-]+)/clone)",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"name", "description"}, "POST volume/{id}/clone");
           const SimVolume v = store_.clone(req.matches[1], requiredString(body, "name"),
                                            optionalString(body, "description"));
           sendJson(res, 201, {{"id", v.id}});
         }));

  // Volume groups (PowerStore REST API 4.1 OpenAPI paths /volume_group, /volume_group/{id},
  // /volume_group/{id}/remove_members, /volume_group/{id}/snapshot; bodies `volume_group_create`,
  // `volume_group_remove_members`, `volume_group_snapshot`, `volume_group_delete`; gopowerstore
  // volume_group.go). Only the calls iscsi_powerstore makes; attributes the simulator does not
  // model (protection and QoS policies, expiration, secure snapshots) answer 400 as unknown.
  s.Post(p + "volume_group", guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"name", "description", "volume_ids", "is_write_order_consistent"},
                     "POST volume_group");
           const SimVolumeGroup g = store_.createVolumeGroup(
               requiredString(body, "name"), presentString(body, "description").value_or(""),
               idList(body, "volume_ids", false),
               optionalBool(body, "is_write_order_consistent", true));  // "defaults to true"
           sendJson(res, 201, {{"id", g.id}});
         }));
  s.Get(p + "volume_group", guarded([this](const httplib::Request& req, httplib::Response& res) {
          std::vector<nlohmann::json> all;
          for (const SimVolumeGroup& g : store_.volumeGroups()) all.push_back(groupJson(g));
          sendCollection(req, res, kVolumeGroupType, all);
        }));
  s.Get(p + R"(volume_group/([0-9a-f-]+))",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          sendInstance(req, res, kVolumeGroupType, groupJson(store_.volumeGroup(req.matches[1])));
        }));
  s.Delete(p + R"(volume_group/([0-9a-f-]+))",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             const nlohmann::json body = parseBody(req);
             allowOnly(body, {"delete_members", "immediate"}, "DELETE volume_group");
             optionalBool(body, "immediate", true);  // no recycle bin here: always immediate
             store_.deleteVolumeGroup(req.matches[1], optionalBool(body, "delete_members", false));
             res.status = 204;
           }));
  s.Post(p + R"(volume_group/([0-9a-f-]+)/remove_members)",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"volume_ids"}, "POST volume_group/{id}/remove_members");
           store_.removeVolumeGroupMembers(req.matches[1], idList(body, "volume_ids", true));
           res.status = 204;
         }));
  s.Post(p + R"(volume_group/([0-9a-f-]+)/snapshot)",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"name", "description"}, "POST volume_group/{id}/snapshot");
           const SimVolumeGroup set =
               store_.snapshotVolumeGroup(req.matches[1], requiredString(body, "name"),
                                          presentString(body, "description").value_or(""));
           // 200 with `volume_group_snapshot_response` {id}, the new snapshot set's.
           sendJson(res, 200, {{"id", set.id}});
         }));

  // Hosts and mappings. Initiators carry optional one-way CHAP credentials
  // (dell/gopowerstore host_types.go: InitiatorCreateModify, UpdateInitiatorInHost).
  s.Post(p + "host", guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"name", "description", "os_type", "initiators"}, "POST host");
           std::vector<SimInitiator> initiators;
           const auto list = body.find("initiators");
           if (list == body.end() || !list->is_array()) {
             throw ApiError(400, kCodeBadRequest, "The field initiators is required.",
                            {"initiators"});
           }
           for (const auto& i : *list) {
             if (!i.is_object())
               throw ApiError(400, kCodeBadRequest, "Initiators must be objects.");
             allowOnly(i,
                       {"port_name", "port_type", "chap_single_username", "chap_single_password",
                        "chap_mutual_username", "chap_mutual_password"},
                       "POST host initiators");
             initiators.push_back({requiredString(i, "port_name"), requiredString(i, "port_type"),
                                   presentString(i, "chap_single_username").value_or(""),
                                   presentString(i, "chap_single_password").value_or(""),
                                   presentString(i, "chap_mutual_username").value_or(""),
                                   presentString(i, "chap_mutual_password").value_or("")});
           }
           const SimHost h = store_.createHost(requiredString(body, "name"),
                                               optionalString(body, "os_type"), initiators);
           sendJson(res, 201, {{"id", h.id}});
         }));
  s.Get(p + "host", guarded([this](const httplib::Request& req, httplib::Response& res) {
          std::vector<nlohmann::json> all;
          for (const SimHost& h : store_.hosts()) all.push_back(toJson(h));
          sendCollection(req, res, kHostType, all);
        }));
  s.Get(p + R"(host/([0-9a-f-]+))",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          sendInstance(req, res, kHostType, toJson(store_.host(req.matches[1])));
        }));
  s.Patch(p + R"(host/([0-9a-f-]+))",
          guarded([this](const httplib::Request& req, httplib::Response& res) {
            const nlohmann::json body = parseBody(req);
            allowOnly(body, {"modify_initiators"}, "PATCH host");
            const auto list = body.find("modify_initiators");
            if (list == body.end() || !list->is_array()) {
              throw ApiError(400, kCodeBadRequest, "modify_initiators must be a list.",
                             {"modify_initiators"});
            }
            std::vector<SimChapChange> changes;
            for (const auto& i : *list) {
              if (!i.is_object())
                throw ApiError(400, kCodeBadRequest, "modify_initiators holds objects.");
              allowOnly(i,
                        {"port_name", "chap_single_username", "chap_single_password",
                         "chap_mutual_username", "chap_mutual_password"},
                        "PATCH host modify_initiators");
              changes.push_back({requiredString(i, "port_name"),
                                 presentString(i, "chap_single_username"),
                                 presentString(i, "chap_single_password"),
                                 presentString(i, "chap_mutual_username"),
                                 presentString(i, "chap_mutual_password")});
            }
            store_.modifyInitiatorChap(req.matches[1], changes);
            res.status = 204;
          }));
  s.Delete(p + R"(host/([0-9a-f-]+))",
           guarded([this](const httplib::Request& req, httplib::Response& res) {
             allowOnly(parseBody(req), {}, "DELETE host");
             store_.deleteHost(req.matches[1]);
             res.status = 204;
           }));
  s.Post(p + R"(host/([0-9a-f-]+)/(attach|detach))",
         guarded([this](const httplib::Request& req, httplib::Response& res) {
           const nlohmann::json body = parseBody(req);
           allowOnly(body, {"volume_id"}, "POST host/{id}/" + req.matches[2].str());
           const std::string volume_id = requiredString(body, "volume_id");
           if (req.matches[2] == "attach") {
             store_.attach(req.matches[1], volume_id);
           } else {
             store_.detach(req.matches[1], volume_id);
           }
           res.status = 204;
         }));
  s.Get(p + "host_volume_mapping",
        guarded([this](const httplib::Request& req, httplib::Response& res) {
          std::vector<nlohmann::json> all;
          for (const SimMapping& m : store_.mappings()) all.push_back(toJson(m));
          sendCollection(req, res, kMappingType, all);
        }));
}

}  // namespace powerstore_sim
