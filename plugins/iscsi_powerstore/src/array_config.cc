#include "array_config.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <set>

#include "host_iscsiadm.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

[[noreturn]] void bad(const std::string& message) { throw Error(Code::kInvalidArgument, message); }

// YAML scalars may arrive as strings ("true") or as JSON booleans.
bool boolean(const nlohmann::json& value, const std::string& where) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string()) {
    const std::string text = value.get<std::string>();
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
  }
  bad(where + " must be true or false, got " + value.dump());
}

std::string string(const nlohmann::json& value, const std::string& where, bool secret = false) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump();
  // A secret's value is never quoted, even a malformed one.
  bad(where + " must be a string" + (secret ? std::string() : ", got " + value.dump()));
}

std::chrono::milliseconds millis(const StringMap& settings, const char* key,
                                 std::chrono::milliseconds fallback) {
  auto it = settings.find(key);
  if (it == settings.end()) return fallback;
  long long value = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 100 ||
      value > 600000) {
    bad(std::string("setting '") + key + "' must be milliseconds from 100 to 600000, got '" + text +
        "'");
  }
  return std::chrono::milliseconds(value);
}

// One CHAP setting: bounded as the array bounds an initiator's CHAP values (dell/gopowerstore
// host_types.go: user names 1 to 64 printable UTF-8 characters, passwords 12 to 64), with no
// line break or control character (it goes into a node record line). Never quotes the value:
// it may be the secret.
std::string chapValue(const StringMap& settings, const char* key, std::size_t min) {
  auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) return {};
  const std::string& value = it->second;
  std::size_t characters = 0;
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      bad(std::string("setting '") + key + "' must not contain line breaks or control characters");
    if ((byte & 0xc0) != 0x80) ++characters;
  }
  if (characters < min || characters > 64)
    bad(std::string("setting '") + key + "' must be " + std::to_string(min) +
        " to 64 characters (the array's bounds), got " + std::to_string(characters));
  return value;
}

void parseChap(const StringMap& settings, PluginConfig& config) {
  // An empty value is an unset one (a chart may template `chap_user: ""`).
  auto set = [&](const char* key) {
    auto it = settings.find(key);
    return it != settings.end() && !it->second.empty();
  };
  const bool user = set("chap_user");
  if (user != set("chap_password")) bad("settings 'chap_user' and 'chap_password' go together");
  const bool mutualUser = set("chap_mutual_user");
  if (mutualUser != set("chap_mutual_password"))
    bad("settings 'chap_mutual_user' and 'chap_mutual_password' go together");
  if (mutualUser && !user)
    bad("settings 'chap_mutual_user' and 'chap_mutual_password' need 'chap_user' and "
        "'chap_password': mutual CHAP is the target's answer to an initiator that "
        "authenticated itself first");
  config.chapUser = chapValue(settings, "chap_user", 1);
  config.chapPassword = chapValue(settings, "chap_password", 12);
  config.chapMutualUser = chapValue(settings, "chap_mutual_user", 1);
  config.chapMutualPassword = chapValue(settings, "chap_mutual_password", 12);
  // open-iscsi refuses a target that answers with the initiator's own secret
  // (AUTH_DBG_STATUS_PASSWD_IDENTICAL in usr/auth.c), so such a pair could never log in.
  if (mutualUser && config.chapMutualPassword == config.chapPassword)
    bad("settings 'chap_mutual_password' and 'chap_password' must differ: open-iscsi refuses "
        "a target whose secret is the initiator's");
}

ArrayConfig parseArray(const nlohmann::json& entry, std::size_t index, const std::string& caFile) {
  const std::string where = "arrays[" + std::to_string(index) + "]";
  if (!entry.is_object()) bad(where + " must be a map");
  ArrayConfig a;
  a.caFile = caFile;
  for (const auto& [key, value] : entry.items()) {
    const std::string field = where + "." + key;
    if (key == "endpoint")
      a.endpoint = string(value, field);
    else if (key == "globalID")
      a.globalID = string(value, field);
    else if (key == "username")
      a.username = string(value, field);
    else if (key == "password")
      a.password = string(value, field, /*secret=*/true);
    else if (key == "skipCertificateValidation")
      a.skipCertificateValidation = boolean(value, field);
    else if (key == "isDefault")
      a.isDefault = boolean(value, field);
    else if (key == "blockProtocol")
      a.blockProtocol = string(value, field);
    else if (key == "nasName")
      a.nasName = string(value, field);
    else if (key == "nfsAcls")
      a.nfsAcls = string(value, field);
    else if (key == "caFile")
      a.caFile = string(value, field);
    else
      a.ignoredKeys.push_back(key);  // Dell's keys for other features (labels, metroTopology, ...)
  }
  if (a.globalID.empty()) bad(where + ".globalID is required");
  // The globalID starts every volume id, so it must fit polycsi's id alphabet.
  if (a.globalID.size() > 64 ||
      a.globalID.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789._-") != std::string::npos)
    bad(where + ".globalID '" + a.globalID + "' may hold only letters, digits, '.', '_', '-'");
  const std::string named = where + " (" + a.globalID + ")";
  const std::string given = a.endpoint;
  // Trailing slashes go first, so that what is checked is what the client will use: a host must
  // follow "https://" ("https:///" would leave "https:").
  while (!a.endpoint.empty() && a.endpoint.back() == '/') a.endpoint.pop_back();
  if (a.endpoint.rfind("https://", 0) != 0 || a.endpoint.size() <= 8 || a.endpoint[8] == '/') {
    bad(named +
        ".endpoint must be an https:// URL with a host, like https://10.0.0.1/api/rest, "
        "got '" +
        given + "'");
  }
  for (char c : a.endpoint) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\\') {
      bad(named + ".endpoint contains a space, quote or control character");
    }
  }
  if (a.username.empty() || a.password.empty()) bad(named + " needs username and password");
  std::string protocol;
  for (char c : a.blockProtocol) protocol.push_back(static_cast<char>(std::toupper(c)));
  if (protocol != "ISCSI" && protocol != "AUTO") {
    bad(named + ".blockProtocol is '" + a.blockProtocol +
        "'; the iscsi_powerstore plugin speaks iSCSI only (ISCSI or auto)");
  }
  a.blockProtocol = "ISCSI";
  if (!a.skipCertificateValidation && a.caFile.empty()) {
    bad(named +
        " verifies the array's certificate but no CA is configured: set caFile (or the "
        "ca_file setting), or opt out with skipCertificateValidation: true");
  }
  return a;
}

}  // namespace

const ArrayConfig& PluginConfig::array(const std::string& arrayID) const {
  if (arrayID.empty()) {
    for (const ArrayConfig& a : arrays)
      if (a.isDefault) return a;
    if (arrays.size() == 1) return arrays.front();
    bad("no arrayID given and no array has isDefault: true");
  }
  for (const ArrayConfig& a : arrays)
    if (a.globalID == arrayID) return a;
  std::string known;
  for (const ArrayConfig& a : arrays) known += (known.empty() ? "" : ", ") + a.globalID;
  bad("arrayID '" + arrayID + "' is not configured (known: " + known + ")");
}

const ArrayConfig& PluginConfig::arrayById(const std::string& globalID) const {
  for (const ArrayConfig& a : arrays)
    if (a.globalID == globalID) return a;
  throw Error(Code::kNotFound, "array '" + globalID + "' is not configured");
}

PluginConfig parsePluginConfig(const StringMap& settings, const std::string& settingsJson,
                               Role role) {
  PluginConfig config;
  config.requestTimeout = millis(settings, "request_timeout_ms", config.requestTimeout);
  config.deviceWaitTimeout = millis(settings, "device_wait_timeout_ms", config.deviceWaitTimeout);
  if (auto it = settings.find("initiator_name_file"); it != settings.end()) {
    if (it->second.empty() || it->second.front() != '/') {
      bad("setting 'initiator_name_file' must be an absolute path, got '" + it->second + "'");
    }
    config.initiatorNameFile = it->second;
  }
  parseChap(settings, config);
  if (auto it = settings.find("iscsi_node_db_dir"); it != settings.end()) {
    if (it->second.empty() || it->second.front() != '/') {
      bad("setting 'iscsi_node_db_dir' must be an absolute path, got '" + it->second + "'");
    }
    config.iscsiNodeDbDir = it->second;
  }
  if (auto it = settings.find("iscsi_host_root"); it != settings.end())
    config.iscsiHostRoot = validateHostRoot("iscsi_host_root", it->second);
  const std::string caFile = settings.count("ca_file") ? settings.at("ca_file") : std::string();
  if (auto it = settings.find("iscsi_port"); it != settings.end()) {
    int port = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || port < 1 ||
        port > 65535)
      bad("setting 'iscsi_port' must be a TCP port from 1 to 65535, got '" + text + "'");
    config.iscsiPort = port;
  }
  if (auto it = settings.find("replacement_timeout_seconds"); it != settings.end()) {
    int seconds = 0;
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || seconds < -1 ||
        seconds > 86400)
      bad("setting 'replacement_timeout_seconds' must be -1 (wait until the session is back), "
          "0 (fail at once) or up to 86400 seconds, got '" +
          text + "'");
    config.replacementTimeoutSeconds = seconds;
  }

  if (auto it = settings.find("multipath"); it != settings.end()) {
    if (it->second != "true" && it->second != "false")
      bad("setting 'multipath' must be true or false, got '" + it->second + "'");
    config.multipath = it->second == "true";
  }

  nlohmann::json all;
  try {
    all = nlohmann::json::parse(settingsJson.empty() ? "{}" : settingsJson);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("settings are not valid JSON: ") + e.what());
  }
  if (role == Role::kNode && all.is_object() && !all.contains("arrays")) return config;
  if (!all.is_object() || !all.contains("arrays") || !all["arrays"].is_array() ||
      all["arrays"].empty()) {
    bad("setting 'arrays' is required: a list of arrays (endpoint, globalID, username, "
        "password, ...)");
  }
  std::set<std::string> ids;
  int defaults = 0;
  for (std::size_t i = 0; i < all["arrays"].size(); ++i) {
    ArrayConfig a = parseArray(all["arrays"][i], i, caFile);
    if (!ids.insert(a.globalID).second)
      bad("globalID '" + a.globalID + "' appears twice in arrays");
    defaults += a.isDefault ? 1 : 0;
    config.arrays.push_back(std::move(a));
  }
  if (defaults > 1) bad("more than one array has isDefault: true");
  return config;
}

std::vector<SettingSpec> pluginSettingSpecs() {
  return {
      SettingSpec{"arrays", SettingKind::kStructured, false, true,
                  "The arrays, in Dell csi-powerstore's shape: a list of {endpoint, globalID, "
                  "username, password, skipCertificateValidation, isDefault, blockProtocol, "
                  "nasName, nfsAcls} plus optional caFile; other keys of Dell's entries "
                  "(labels, metroTopology, ...) are logged and ignored. A StorageClass picks "
                  "one with the arrayID parameter; default: the one with isDefault. Required "
                  "for the controller; a node attaches from what the controller published.",
                  Role::kController},
      SettingSpec{"ca_file", SettingKind::kString, false, false,
                  "PEM CA bundle that signs the arrays' certificates (per array: caFile)."},
      SettingSpec{"request_timeout_ms", SettingKind::kInteger, false, false,
                  "Timeout of each REST call (100 to 600000). Default: 30000."},
      SettingSpec{"initiator_name_file", SettingKind::kString, false, false,
                  "The node's iSCSI initiator name file, a path on the host (read under "
                  "iscsi_host_root). Default: /etc/iscsi/initiatorname.iscsi."},
      SettingSpec{"chap_user", SettingKind::kString, false, false,
                  "CHAP user the node logs in to the portal with (with chap_password)."},
      SettingSpec{"chap_password", SettingKind::kString, false, true,
                  "CHAP secret (12 to 64 characters, as the array requires)."},
      SettingSpec{"chap_mutual_user", SettingKind::kString, false, false,
                  "Mutual CHAP (with chap_mutual_password, on top of chap_user): the user the "
                  "target must answer the node's challenge with; set on the node's initiator "
                  "as chap_mutual_username and written into the node record as "
                  "node.session.auth.username_in. For arrays whose CHAP mode is Mutual."},
      SettingSpec{"chap_mutual_password", SettingKind::kString, false, true,
                  "Mutual CHAP secret of the target (12 to 64 characters, not chap_password)."},
      SettingSpec{"iscsi_node_db_dir", SettingKind::kString, false, false,
                  "open-iscsi's node database on the host (under iscsi_host_root), where the "
                  "CHAP credentials are written (mode 0600, never on a command line). Default: "
                  "/etc/iscsi/nodes."},
      SettingSpec{"iscsi_host_root", SettingKind::kString, false, false,
                  "Where the host's / is mounted into the node plugin (e.g. /host): the node "
                  "runs the host's iscsiadm chrooted into it, so it matches the host's iscsid "
                  "and its node records stay on the host. Default: / (the plugin runs on the "
                  "host itself)."},
      SettingSpec{"device_wait_timeout_ms", SettingKind::kInteger, false, false,
                  "How long attach waits for the LUN's device. Default: 30000."},
      SettingSpec{"replacement_timeout_seconds", SettingKind::kInteger, false, false,
                  "Node: how long I/O waits for a lost iSCSI session before it fails "
                  "(open-iscsi's node.session.timeo.replacement_timeout), set on the node "
                  "record before each login: -1 until the session is back, 0 at once, else up "
                  "to 86400. Default: the host's iscsid.conf (open-iscsi: 120)."},
      SettingSpec{"multipath", SettingKind::kBoolean, false, false,
                  "Node: dm-multipath over every portal of the array. Stage logs in to every "
                  "portal and returns the multipath map of the LUN's disks (found by WWID "
                  "through sysfs), unstage flushes the map (multipath -f) before logging out, "
                  "and NodeExpandVolume rescans every path and resizes the map. Needs the "
                  "host's multipath-tools with multipathd running and the dm_multipath module "
                  "(FAILED_PRECONDITION otherwise). Default: false (one path's disk)."},
      SettingSpec{"iscsi_port", SettingKind::kInteger, false, false,
                  "TCP port of the arrays' iSCSI portals (the REST API gives only their "
                  "addresses). Default: 3260, the port arrays use."},
  };
}

}  // namespace polycsi::iscsi_powerstore
