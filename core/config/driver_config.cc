// Parsing and structural checks of the driver configuration file.
#include "config/driver_config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_profile.hpp"
#include "config/topology.hpp"
#include "config/yaml_to_json.hpp"
#include "volume/volume_id.hpp"

namespace polycsi::config {
namespace {

const std::vector<std::string> kTopLevelKeys = {"driver_name", "plugin_dir", "state_path",
                                                "backends", "node"};
const std::vector<std::string> kNodeKeys = {"topology_from_node_labels", "max_volumes_per_node"};
const std::vector<std::string> kBackendKeys = {
    "name", "plugin", "default", "adopt_rds_csi_volumes", "settings", "topology"};

// CSI: at most 63 characters, alphanumerics at both ends, dashes, dots and alphanumerics
// between.
constexpr size_t kMaxDriverNameBytes = 63;

// A problem at key path `path`: "backends[1].name: required".
Status problemAt(const std::string& path, const std::string& what) {
  return Status(Code::kInvalidArgument, path + ": " + what);
}

std::string join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string child(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

// Refuses keys outside `allowed`, duplicate keys and non-scalar keys of a map node.
Status checkKeys(const YAML::Node& map, const std::string& prefix,
                 const std::vector<std::string>& allowed) {
  std::set<std::string> seen;
  for (const auto& entry : map) {
    if (!entry.first.IsScalar())
      return problemAt(prefix.empty() ? "configuration" : prefix, "keys must be plain names");
    const std::string key = entry.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      return problemAt(child(prefix, key),
                       "unknown key (expected one of: " + join(allowed, ", ") + ")");
    if (!seen.insert(key).second) return problemAt(child(prefix, key), "given more than once");
  }
  return Status::ok();
}

// The text of a scalar node, refusing lists, maps and empty values.
StatusOr<std::string> scalarAt(const YAML::Node& node, const std::string& path) {
  if (node.IsNull()) return problemAt(path, "has no value");
  if (!node.IsScalar()) return problemAt(path, "must be a single value, not a list or map");
  return node.Scalar();
}

StatusOr<bool> booleanAt(const YAML::Node& node, const std::string& path) {
  auto text = scalarAt(node, path);
  if (!text.isOk()) return text.status();
  if (*text == "true") return true;
  if (*text == "false") return false;
  return problemAt(path, "must be true or false, got '" + *text + "'");
}

bool isValidPluginName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool isValidDriverName(const std::string& name) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (name.empty() || name.size() > kMaxDriverNameBytes) return false;
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  for (char c : name)
    if (!alnum(c) && c != '-' && c != '.') return false;
  return true;
}

StatusOr<std::string> absolutePathAt(const YAML::Node& node, const std::string& path) {
  auto text = scalarAt(node, path);
  if (!text.isOk()) return text.status();
  if (text->empty() || text->front() != '/')
    return problemAt(path, "must be an absolute path, got '" + *text + "'");
  return text;
}

Status parseSettings(const YAML::Node& node, const std::string& path, BackendConfig& backend) {
  if (!node || node.IsNull()) return Status::ok();  // `settings:` with nothing is an empty map
  if (!node.IsMap()) return problemAt(path, "must be a map of setting names to values");
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar() || entry.first.Scalar().empty())
      return problemAt(path, "setting names must be plain, non-empty text");
    const std::string key = entry.first.Scalar();
    const std::string keyPath = path + "." + key;
    if (!seen.insert(key).second) return problemAt(keyPath, "given more than once");
    const YAML::Node& value = entry.second;
    if (value.IsSequence() || value.IsMap()) {
      backend.structuredKeys.push_back(key);
    } else {
      auto text = scalarAt(value, keyPath);
      if (!text.isOk()) return text.status();
      backend.settings[key] = std::move(*text);
    }
  }
  auto json = yamlToJson(node);
  if (!json.isOk()) return problemAt(path, json.status().message());
  try {
    backend.settingsJson = json->dump();
  } catch (const nlohmann::json::exception& e) {
    // nlohmann::json reports text it cannot write (not UTF-8) only by throwing. The checks of
    // the whole file let no such text through; this stays for what they might miss.
    return problemAt(path, std::string("cannot be handed to the plugin as JSON: ") + e.what());
  }
  return Status::ok();
}

// `topology:` a map of Kubernetes label keys to label values (config/topology.hpp).
Status parseTopology(const YAML::Node& node, const std::string& path, BackendConfig& backend) {
  if (!node || node.IsNull()) return Status::ok();
  if (!node.IsMap() || node.size() == 0)
    return problemAt(path,
                     "must be a map of topology keys to values, e.g. "
                     "{topology.polycsi.io/rack: r1}");
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return problemAt(path, "keys must be plain text");
    const std::string key = entry.first.Scalar();
    if (std::string problem = labelKeyProblem(key); !problem.empty())
      return problemAt(path + "." + key, "not a Kubernetes label key (" + problem +
                                             "), e.g. topology.polycsi.io/rack");
    if (backend.topology.count(key) != 0)
      return problemAt(path + "." + key, "given more than once");
    auto value = scalarAt(entry.second, path + "." + key);
    if (!value.isOk()) return value.status();
    if (std::string problem = labelValueProblem(*value); !problem.empty())
      return problemAt(path + "." + key,
                       "'" + *value + "' is not a Kubernetes label value (" + problem + ")");
    backend.topology[key] = *value;
  }
  return Status::ok();
}

StatusOr<BackendConfig> parseBackend(const YAML::Node& node, const std::string& path) {
  if (!node.IsMap()) return problemAt(path, "must be a map with name, plugin and settings");
  if (Status keys = checkKeys(node, path, kBackendKeys); !keys.isOk()) return keys;
  BackendConfig backend;
  const YAML::Node name = node["name"];
  if (!name) return problemAt(path + ".name", "required");
  auto nameText = scalarAt(name, path + ".name");
  if (!nameText.isOk()) return nameText.status();
  backend.name = std::move(*nameText);
  if (!volume::isValidBackendName(backend.name))
    return problemAt(path + ".name",
                     "must match [a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?, got '" + backend.name + "'");
  const YAML::Node plugin = node["plugin"];
  if (!plugin) return problemAt(path + ".plugin", "required");
  auto pluginText = scalarAt(plugin, path + ".plugin");
  if (!pluginText.isOk()) return pluginText.status();
  backend.plugin = std::move(*pluginText);
  if (!isValidPluginName(backend.plugin))
    return problemAt(path + ".plugin", "must match [a-z0-9_]+, got '" + backend.plugin + "'");
  if (const YAML::Node isDefault = node["default"]) {
    auto flag = booleanAt(isDefault, path + ".default");
    if (!flag.isOk()) return flag.status();
    backend.isDefault = *flag;
  }
  if (const YAML::Node adopt = node["adopt_rds_csi_volumes"]) {
    auto flag = booleanAt(adopt, path + ".adopt_rds_csi_volumes");
    if (!flag.isOk()) return flag.status();
    backend.adoptRdsCsiVolumes = *flag;
    // The volumes that driver made are rds_nvme's disk shapes; no other plugin knows them.
    if (backend.adoptRdsCsiVolumes && backend.plugin != kRdsCsiAdopterPlugin)
      return problemAt(path + ".adopt_rds_csi_volumes",
                       "only a backend of plugin " + std::string(kRdsCsiAdopterPlugin) +
                           " can serve rds-csi's volumes, this one is '" + backend.plugin + "'");
  }
  if (Status settings = parseSettings(node["settings"], path + ".settings", backend);
      !settings.isOk())
    return settings;
  if (Status topology = parseTopology(node["topology"], path + ".topology", backend);
      !topology.isOk())
    return topology;
  return backend;
}

// `node:` the node process's settings (NodeSettings).
Status parseNodeSettings(const YAML::Node& node, NodeSettings& settings) {
  if (!node || node.IsNull()) return Status::ok();
  if (!node.IsMap())
    return problemAt("node",
                     "must be a map of node settings (topology_from_node_labels, "
                     "max_volumes_per_node)");
  if (Status keys = checkKeys(node, "node", kNodeKeys); !keys.isOk()) return keys;
  if (const YAML::Node fromLabels = node["topology_from_node_labels"]) {
    auto flag = booleanAt(fromLabels, "node.topology_from_node_labels");
    if (!flag.isOk()) return flag.status();
    settings.topologyFromNodeLabels = *flag;
  }
  if (const YAML::Node limit = node["max_volumes_per_node"]) {
    auto text = scalarAt(limit, "node.max_volumes_per_node");
    if (!text.isOk()) return text.status();
    auto count = parseVolumeCount(*text);
    if (!count) return problemAt("node.max_volumes_per_node", volumeCountProblem(*text));
    settings.maxVolumesPerNode = *count;
  }
  return Status::ok();
}

Status parseBackends(const YAML::Node& node, DriverConfig& config) {
  if (!node || node.IsNull() || (node.IsSequence() && node.size() == 0))
    return problemAt("backends", "at least one backend is required");
  if (!node.IsSequence()) return problemAt("backends", "must be a list of backends");
  std::vector<std::string> defaults;
  std::vector<std::string> adopters;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = "backends[" + std::to_string(i) + "]";
    auto backend = parseBackend(node[i], path);
    if (!backend.isOk()) return backend.status();
    if (config.find(backend->name) != nullptr)
      return problemAt(path + ".name", "duplicate '" + backend->name + "'");
    if (backend->isDefault) defaults.push_back(backend->name);
    if (backend->adoptRdsCsiVolumes) adopters.push_back(backend->name);
    config.backends.push_back(std::move(*backend));
  }
  if (defaults.size() > 1)
    return problemAt("backends", "more than one default (" + join(defaults, ", ") + ")");
  // An rds-csi volume id names no backend: exactly one place may answer for it.
  if (adopters.size() > 1)
    return problemAt("backends", "more than one backend with adopt_rds_csi_volumes: true (" +
                                     join(adopters, ", ") +
                                     "); rds-csi's volume ids name no backend, so only one "
                                     "backend can serve them");
  return Status::ok();
}

// Where `text` stops being UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF), or npos. YAML streams are Unicode; yaml-cpp passes invalid bytes through, and
// they could not become the settings JSON handed to plugins.
size_t firstInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned char lead = byte(i);
    size_t length = 0;
    unsigned char min = 0x80;
    unsigned char max = 0xBF;  // bounds of the byte after the lead
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) min = 0xA0;  // overlong
      if (lead == 0xED) max = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) min = 0x90;  // overlong
      if (lead == 0xF4) max = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size() || byte(i + 1) < min || byte(i + 1) > max) return i;
    for (size_t k = 2; k < length; ++k)
      if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return i;
    i += length;
  }
  return std::string_view::npos;
}

// Where `text` holds a control character that YAML does not allow in a stream (c-printable: of
// C0 only tab, line feed and carriage return; not DEL), or npos. yaml-cpp reads such characters
// without complaint and garbles them: a NUL in a key came out as bytes that are not UTF-8.
size_t firstForbiddenControl(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) return i;
  }
  return std::string_view::npos;
}

// "byte 0xNN at line L, column C" for text[at].
std::string describeByteAt(const std::string& text, size_t at) {
  const size_t line = 1 + std::count(text.begin(), text.begin() + at, '\n');
  const size_t newline = at == 0 ? std::string::npos : text.rfind('\n', at - 1);
  const size_t column = newline == std::string::npos ? at + 1 : at - newline;
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[at]));
  return "byte " + std::string(hex) + " at line " + std::to_string(line) + ", column " +
         std::to_string(column);
}

// The whole text is what YAML reads: UTF-8, without the control characters it forbids.
Status requireYamlText(const std::string& text) {
  if (const size_t bad = firstInvalidUtf8(text); bad != std::string_view::npos)
    return problemAt("configuration", "is not UTF-8 text: " + describeByteAt(text, bad));
  if (const size_t bad = firstForbiddenControl(text); bad != std::string_view::npos)
    return problemAt("configuration",
                     "has a control character YAML does not allow (only tab, line feed and "
                     "carriage return): " +
                         describeByteAt(text, bad));
  return Status::ok();
}

// The checked configuration in `root`, a map. yaml-cpp's accessors report a malformed tree
// (e.g. an alias to nothing) only by throwing YAML::Exception; parseConfig catches it.
StatusOr<DriverConfig> parseRoot(const YAML::Node& root) {
  if (Status keys = checkKeys(root, "", kTopLevelKeys); !keys.isOk()) return keys;
  DriverConfig config;
  if (const YAML::Node name = root["driver_name"]) {
    auto driverName = scalarAt(name, "driver_name");
    if (!driverName.isOk()) return driverName.status();
    config.driverName = std::move(*driverName);
    if (!isValidDriverName(config.driverName))
      return problemAt("driver_name",
                       "must be at most 63 characters of [A-Za-z0-9.-], alphanumeric at "
                       "both ends, got '" +
                           config.driverName + "'");
  }
  if (const YAML::Node dir = root["plugin_dir"]) {
    auto pluginDir = absolutePathAt(dir, "plugin_dir");
    if (!pluginDir.isOk()) return pluginDir.status();
    config.pluginDir = std::move(*pluginDir);
  }
  const YAML::Node state = root["state_path"];
  if (!state) return problemAt("state_path", "required");
  auto statePath = absolutePathAt(state, "state_path");
  if (!statePath.isOk()) return statePath.status();
  config.statePath = std::move(*statePath);
  if (Status backends = parseBackends(root["backends"], config); !backends.isOk()) return backends;
  if (Status node = parseNodeSettings(root["node"], config.node); !node.isOk()) return node;
  return config;
}

}  // namespace

const BackendConfig* DriverConfig::find(const std::string& name) const {
  for (const auto& backend : backends)
    if (backend.name == name) return &backend;
  return nullptr;
}

const BackendConfig* DriverConfig::rdsCsiAdopter() const {
  for (const auto& backend : backends)
    if (backend.adoptRdsCsiVolumes) return &backend;
  return nullptr;
}

const BackendConfig* DriverConfig::defaultBackend() const {
  for (const auto& backend : backends)
    if (backend.isDefault) return &backend;
  return backends.size() == 1 ? &backends.front() : nullptr;
}

StatusOr<DriverConfig> parseConfig(const std::string& yamlText) {
  if (Status text = requireYamlText(yamlText); !text.isOk()) return text;
  // yaml-cpp reports syntax errors and malformed trees only by throwing YAML::Exception.
  YAML::Node root;
  try {
    root = YAML::Load(yamlText);
  } catch (const YAML::Exception& e) {
    return Status(Code::kInvalidArgument, std::string("invalid YAML: ") + e.what());
  }
  if (!root || root.IsNull()) return problemAt("configuration", "is empty");
  if (!root.IsMap()) return problemAt("configuration", "must be a map of settings");
  try {
    return parseRoot(root);
  } catch (const YAML::Exception& e) {
    // Structural surprises yaml-cpp detects while we walk the tree (e.g. aliases to nothing).
    return Status(Code::kInvalidArgument, std::string("invalid configuration: ") + e.what());
  }
}

StatusOr<DriverConfig> loadConfigFile(const std::string& path) {
  const auto unreadable = [&path](const std::string& why) {
    return Status(Code::kInvalidArgument, path + ": cannot be read: " + why);
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return unreadable(std::strerror(errno));
  auto config = parseConfig(text.str());
  if (!config.isOk())
    return Status(Code::kInvalidArgument, path + ": " + config.status().message());
  return config;
}

}  // namespace polycsi::config
