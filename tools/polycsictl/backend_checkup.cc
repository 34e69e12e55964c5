#include "backend_checkup.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <stdexcept>

#include "output.hpp"

namespace polycsi::csictl {
namespace {

using nlohmann::ordered_json;

constexpr char kBackendPrefix[] = "backend/";
constexpr char kRwx[] = "MULTI_NODE_MULTI_WRITER";
constexpr char kRwo[] = "SINGLE_NODE_WRITER";

// The order the modes table lists CSI access modes in: the common ones first.
const std::vector<std::string>& accessModeOrder() {
  static const std::vector<std::string> order = {
      "SINGLE_NODE_WRITER",      "SINGLE_NODE_SINGLE_WRITER", "SINGLE_NODE_MULTI_WRITER",
      "SINGLE_NODE_READER_ONLY", "MULTI_NODE_READER_ONLY",    "MULTI_NODE_SINGLE_WRITER",
      "MULTI_NODE_MULTI_WRITER"};
  return order;
}

const DeclaredCapability* findCapability(const BackendCheckup& backend,
                                         const std::string& accessMode,
                                         const std::string& volumeMode) {
  for (const auto& c : backend.capabilities)
    if (c.accessMode == accessMode && c.volumeMode == volumeMode) return &c;
  return nullptr;
}

std::string semanticsOf(const BackendCheckup& backend, const std::string& accessMode,
                        const std::string& volumeMode) {
  const auto* c = findCapability(backend, accessMode, volumeMode);
  return c == nullptr ? "unsupported" : c->semantics;
}

bool supports(const BackendCheckup& backend, const std::string& accessMode,
              const std::string& volumeMode) {
  return semanticsOf(backend, accessMode, volumeMode) != "unsupported";
}

std::string whyUnsupported(const BackendCheckup& backend, const std::string& accessMode,
                           const std::string& volumeMode) {
  const auto* c = findCapability(backend, accessMode, volumeMode);
  if (c == nullptr) return "not declared by plugin " + backend.plugin;
  return c->reason.empty() ? "declared unsupported by plugin " + backend.plugin : c->reason;
}

std::string kubernetesVolumeMode(const std::string& volumeMode) {
  return volumeMode == "block" ? "Block" : "Filesystem";
}

int parseSeconds(const std::string& text, const std::string& key) {
  try {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  throw std::runtime_error("manifest " + key + ": '" + text + "' is not a number of seconds");
}

void parseMatrix(const std::string& key, const std::string& text, BackendCheckup& backend) {
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const auto slash = entry.find('/');
    const auto equals = entry.find('=');
    if (slash == std::string::npos || equals == std::string::npos || equals < slash)
      throw std::runtime_error("manifest " + key + ": entry '" + entry +
                               "' is not ACCESS_MODE/volume_mode=semantics");
    DeclaredCapability c;
    c.accessMode = entry.substr(0, slash);
    c.volumeMode = entry.substr(slash + 1, equals - slash - 1);
    c.semantics = entry.substr(equals + 1);
    if (c.volumeMode != "block" && c.volumeMode != "filesystem")
      throw std::runtime_error("manifest " + key + ": unknown volume mode '" + c.volumeMode + "'");
    backend.capabilities.push_back(std::move(c));
  }
}

// "key=value,key2=value2" (manifest backend/<name>/topology).
std::map<std::string, std::string> parseTopology(const std::string& key, const std::string& text) {
  std::map<std::string, std::string> out;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0)
      throw std::runtime_error("manifest " + key + ": entry '" + entry + "' is not key=value");
    out[entry.substr(0, equals)] = entry.substr(equals + 1);
  }
  return out;
}

// The manifest's group_snapshot_consistency in the report's words; a value this polycsictl does
// not know (a newer driver's) is shown as the driver wrote it.
std::string groupSnapshotsOf(const std::string& consistency) {
  if (consistency == "per-volume-sequence") return "per volume in sequence";
  return consistency;
}

// "a,b" (manifest backend/<name>/mutable_parameters): the names, in the driver's order.
std::vector<std::string> parseNameList(const std::string& key, const std::string& value) {
  std::vector<std::string> names;
  std::stringstream entries(value);
  for (std::string name; std::getline(entries, name, ',');) {
    if (name.empty())
      throw std::runtime_error("manifest " + key + ": empty name in '" + value + "'");
    names.push_back(name);
  }
  return names;
}

// "controller,node" (manifest backend/<name>/volume_condition).
void parseVolumeCondition(const std::string& key, const std::string& value,
                          BackendCheckup& backend) {
  for (const auto& where : parseNameList(key, value)) {
    if (where == "controller")
      backend.controllerVolumeCondition = true;
    else if (where == "node")
      backend.nodeVolumeCondition = true;
    else
      throw std::runtime_error("manifest " + key + ": '" + where +
                               "' is neither controller nor node");
  }
}

}  // namespace

std::string formatTopology(const std::map<std::string, std::string>& topology) {
  if (topology.empty()) return "any node";
  std::string out;
  for (const auto& [key, value] : topology) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

std::string formatVolumeCondition(const BackendCheckup& backend) {
  if (backend.controllerVolumeCondition && backend.nodeVolumeCondition) return "controller, node";
  if (backend.controllerVolumeCondition) return "controller";
  if (backend.nodeVolumeCondition) return "node";
  return "none";
}

std::string formatMutableParameters(const BackendCheckup& backend) {
  if (backend.mutableParameters.empty()) return "none";
  std::string out;
  for (const auto& name : backend.mutableParameters) out += (out.empty() ? "" : ", ") + name;
  return out;
}

LiveMigrationVerdict judgeLiveMigration(const DriverCheckup& driver,
                                        const BackendCheckup& backend) {
  if (!backend.problem.empty()) return {false, "", backend.problem};
  std::string window = "bounded window";
  if (backend.fromStorageClass && backend.migrationTimeoutSeconds > 0)
    window += " " + std::to_string(backend.migrationTimeoutSeconds) + "s (StorageClass " +
              backend.storageClass + ")";
  else if (driver.migrationTimeoutDefault > 0)
    window += " " + std::to_string(driver.migrationTimeoutDefault) +
              "s default, migrationTimeoutSeconds " + std::to_string(driver.migrationTimeoutMin) +
              "-" + std::to_string(driver.migrationTimeoutMax) + "s";
  for (const std::string volumeMode : {"block", "filesystem"}) {
    const std::string semantics = semanticsOf(backend, kRwx, volumeMode);
    const std::string mode = kubernetesVolumeMode(volumeMode);
    if (semantics == "migration_window")
      return {true, mode, "RWX " + mode + ", " + window + "; a third node is refused"};
    if (semantics == "shared")
      return {true, mode, "RWX " + mode + ", shared by any number of nodes"};
  }
  return {false, "",
          "KubeVirt live migration needs ReadWriteMany (MULTI_NODE_MULTI_WRITER); block: " +
              whyUnsupported(backend, kRwx, "block") +
              "; filesystem: " + whyUnsupported(backend, kRwx, "filesystem")};
}

namespace {

// The claim property sets in preference order: the migratable one first, then the other RWX
// mode, then RWO Block and RWO Filesystem.
std::vector<std::pair<std::string, std::string>> claimProperties(const BackendCheckup& backend) {
  std::vector<std::pair<std::string, std::string>> sets;
  auto add = [&](const std::string& csiMode, const std::string& volumeMode) {
    if (!supports(backend, csiMode, volumeMode)) return;
    std::pair<std::string, std::string> set{*kubernetesAccessMode(csiMode),
                                            kubernetesVolumeMode(volumeMode)};
    if (std::find(sets.begin(), sets.end(), set) == sets.end()) sets.push_back(set);
  };
  if (backend.liveMigration.supported)
    add(kRwx, backend.liveMigration.volumeMode == "Block" ? "block" : "filesystem");
  add(kRwx, "block");
  add(kRwx, "filesystem");
  add(kRwo, "block");
  add(kRwo, "filesystem");
  return sets;
}

bool isPlainScalar(const std::string& text) {
  if (text.empty() || !std::isalnum(static_cast<unsigned char>(text[0]))) return false;
  for (const char ch : text)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '/' &&
        ch != '-')
      return false;
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
    if (lower == word) return false;
  // Anything made only of number characters could read as a number.
  return lower.find_first_not_of("0123456789.e+-x_") != std::string::npos;
}

std::string yamlScalar(const ordered_json& value) {
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    return isPlainScalar(text) ? text : value.dump();
  }
  return value.dump();  // numbers, booleans and null read the same in YAML
}

void writeYaml(const ordered_json& value, int indent, std::string& out) {
  const std::string pad(static_cast<size_t>(indent), ' ');
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      if (child.is_structured() && child.empty()) {
        out += pad + key + (child.is_object() ? ": {}\n" : ": []\n");
      } else if (child.is_structured()) {
        out += pad + key + ":\n";
        writeYaml(child, indent + 2, out);
      } else {
        out += pad + key + ": " + yamlScalar(child) + "\n";
      }
    }
    return;
  }
  for (const auto& item : value) {
    if (item.is_object() && !item.empty()) {
      std::string nested;
      writeYaml(item, indent + 2, nested);
      out += pad + "- " + nested.substr(static_cast<size_t>(indent) + 2);
    } else if (item.is_array() && !item.empty()) {
      out += pad + "-\n";
      writeYaml(item, indent + 2, out);
    } else {
      out += pad + "- " +
             (item.is_structured() ? (item.is_object() ? "{}" : "[]") : yamlScalar(item)) + "\n";
    }
  }
}

std::string indentLines(const std::string& text, const std::string& pad) {
  std::string out;
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) out += line.empty() ? "\n" : pad + line + "\n";
  return out;
}

}  // namespace

std::optional<std::string> kubernetesAccessMode(const std::string& csiAccessMode) {
  static const std::map<std::string, std::string> modes = {
      {"SINGLE_NODE_WRITER", "ReadWriteOnce"},
      {"SINGLE_NODE_MULTI_WRITER", "ReadWriteOnce"},
      {"SINGLE_NODE_SINGLE_WRITER", "ReadWriteOncePod"},
      {"MULTI_NODE_READER_ONLY", "ReadOnlyMany"},
      {"MULTI_NODE_MULTI_WRITER", "ReadWriteMany"}};
  const auto found = modes.find(csiAccessMode);
  if (found == modes.end()) return std::nullopt;
  return found->second;
}

DriverCheckup parseCheckup(const std::string& driverName, const std::string& driverVersion,
                           const google::protobuf::Map<std::string, std::string>& manifest) {
  DriverCheckup checkup;
  checkup.driverName = driverName;
  checkup.driverVersion = driverVersion;
  std::map<std::string, BackendCheckup> byName;
  // protobuf maps have no order; reading in key order makes errors and results repeatable.
  std::map<std::string, std::string> sortedManifest;
  for (const auto& entry : manifest) sortedManifest.emplace(entry.first, entry.second);
  for (const auto& [key, value] : sortedManifest) {
    if (key == "migration/timeout_seconds") {
      std::stringstream fields(value);
      std::string def, min, max, extra;
      if (!(fields >> def >> min >> max) || (fields >> extra))
        throw std::runtime_error("manifest " + key + ": '" + value +
                                 "' is not '<default> <min> <max>'");
      checkup.migrationTimeoutDefault = parseSeconds(def, key);
      checkup.migrationTimeoutMin = parseSeconds(min, key);
      checkup.migrationTimeoutMax = parseSeconds(max, key);
      continue;
    }
    if (key.rfind(kBackendPrefix, 0) != 0) continue;
    const std::string rest = key.substr(sizeof(kBackendPrefix) - 1);
    const auto slash = rest.find('/');
    const std::string name = rest.substr(0, slash);
    if (name.empty()) throw std::runtime_error("manifest " + key + ": empty backend name");
    BackendCheckup& backend = byName[name];
    backend.name = name;
    const std::string field = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (field.empty()) {
      const auto space = value.rfind(' ');
      backend.plugin = value.substr(0, space);
      backend.pluginVersion = space == std::string::npos ? "" : value.substr(space + 1);
    } else if (field == "capabilities") {
      parseMatrix(key, value, backend);
    } else if (field == "default") {
      backend.isDefault = value == "true";
    } else if (field == "topology") {
      backend.topology = parseTopology(key, value);
    } else if (field == "group_snapshot_consistency") {
      backend.groupSnapshots = groupSnapshotsOf(value);
    } else if (field == "mutable_parameters") {
      backend.mutableParameters = parseNameList(key, value);
    } else if (field == "volume_condition") {
      parseVolumeCondition(key, value, backend);
    }
  }
  // Reasons refer to matrix entries, so they are read once every matrix is known.
  for (const auto& [key, value] : sortedManifest) {
    if (key.rfind(kBackendPrefix, 0) != 0) continue;
    const std::string rest = key.substr(sizeof(kBackendPrefix) - 1);
    const auto marker = rest.find("/reason/");
    if (marker == std::string::npos) continue;
    const std::string pair = rest.substr(marker + 8);
    const auto slash = pair.find('/');
    auto found = byName.find(rest.substr(0, marker));
    if (slash == std::string::npos || found == byName.end()) continue;
    for (auto& c : found->second.capabilities)
      if (c.accessMode == pair.substr(0, slash) && c.volumeMode == pair.substr(slash + 1))
        c.reason = value;
  }
  for (auto& [name, backend] : byName) {
    if (backend.capabilities.empty()) continue;  // older drivers: no matrix to judge
    backend.storageClass = "polycsi-" + name;
    backend.liveMigration = judgeLiveMigration(checkup, backend);
    checkup.backends.push_back(std::move(backend));
  }
  if (checkup.backends.empty())
    throw std::runtime_error("driver " + driverName +
                             " does not describe its backends; is it polycsi?");
  return checkup;
}

ordered_json pvcFor(const BackendCheckup& backend, const std::string& size) {
  const auto sets = claimProperties(backend);
  if (sets.empty())
    throw std::runtime_error("backend " + backend.name +
                             " supports neither ReadWriteMany nor ReadWriteOnce; no PVC fits");
  ordered_json pvc;
  pvc["apiVersion"] = "v1";
  pvc["kind"] = "PersistentVolumeClaim";
  pvc["metadata"]["name"] = "vm-disk";
  pvc["spec"]["storageClassName"] = backend.storageClass;
  pvc["spec"]["accessModes"] = ordered_json::array({sets.front().first});
  pvc["spec"]["volumeMode"] = sets.front().second;
  pvc["spec"]["resources"]["requests"]["storage"] = size;
  return pvc;
}

ordered_json storageProfileFor(const BackendCheckup& backend) {
  ordered_json profile;
  profile["apiVersion"] = "cdi.kubevirt.io/v1beta1";
  profile["kind"] = "StorageProfile";
  profile["metadata"]["name"] = backend.storageClass;
  ordered_json sets = ordered_json::array();
  for (const auto& [accessMode, volumeMode] : claimProperties(backend))
    sets.push_back(
        {{"accessModes", ordered_json::array({accessMode})}, {"volumeMode", volumeMode}});
  profile["spec"]["claimPropertySets"] = sets;
  return profile;
}

ordered_json checkupJson(const DriverCheckup& checkup, const std::string& size) {
  ordered_json report;
  report["driver"] = checkup.driverName;
  report["version"] = checkup.driverVersion;
  report["backends"] = ordered_json::array();
  for (const auto& backend : checkup.backends) {
    ordered_json entry;
    entry["name"] = backend.name;
    entry["plugin"] = backend.plugin;
    entry["pluginVersion"] = backend.pluginVersion;
    entry["default"] = backend.isDefault;
    if (!backend.topology.empty()) entry["topology"] = backend.topology;
    entry["storageClass"] = backend.storageClass;
    entry["capabilities"] = ordered_json::array();
    for (const auto& c : backend.capabilities) {
      ordered_json cap = {{"accessMode", c.accessMode},
                          {"volumeMode", kubernetesVolumeMode(c.volumeMode)},
                          {"semantics", c.semantics}};
      if (const auto k8s = kubernetesAccessMode(c.accessMode)) cap["kubernetesAccessMode"] = *k8s;
      if (!c.reason.empty()) cap["reason"] = c.reason;
      entry["capabilities"].push_back(cap);
    }
    entry["groupSnapshots"] = backend.groupSnapshots;
    entry["mutableParameters"] = backend.mutableParameters;
    entry["volumeCondition"] = {{"controller", backend.controllerVolumeCondition},
                                {"node", backend.nodeVolumeCondition}};
    if (backend.fromStorageClass) {
      entry["migrationTimeoutSeconds"] = backend.migrationTimeoutSeconds;
      if (!backend.problem.empty()) entry["problem"] = backend.problem;
    }
    entry["liveMigration"] = {{"supported", backend.liveMigration.supported},
                              {"detail", backend.liveMigration.detail}};
    if (backend.liveMigration.supported)
      entry["liveMigration"]["volumeMode"] = backend.liveMigration.volumeMode;
    if (backend.problem.empty() && !claimProperties(backend).empty())
      entry["pvc"] = pvcFor(backend, size);
    entry["storageProfile"] = storageProfileFor(backend);
    report["backends"].push_back(entry);
  }
  return report;
}

std::string formatBackendCheckup(const DriverCheckup& checkup, const BackendCheckup& backend,
                                 const std::string& size) {
  std::string out =
      (backend.fromStorageClass ? "StorageClass " + backend.storageClass + ": " : "") + "backend " +
      backend.name + " (plugin " + backend.plugin + " " + backend.pluginVersion +
      (backend.isDefault ? ", default" : "") + ") on driver " + checkup.driverName + "\n";
  if (!backend.problem.empty()) out += "  PROBLEM: " + backend.problem + "\n";
  if (!backend.topology.empty())
    out += "  topology: " + formatTopology(backend.topology) +
           " (only nodes in this segment reach it)\n";
  TextTable table({"CSI access mode", "Kubernetes", "Block", "Filesystem"});
  for (const auto& mode : accessModeOrder()) {
    if (findCapability(backend, mode, "block") == nullptr &&
        findCapability(backend, mode, "filesystem") == nullptr)
      continue;
    table.addRow({mode, kubernetesAccessMode(mode).value_or("-"),
                  semanticsOf(backend, mode, "block"), semanticsOf(backend, mode, "filesystem")});
  }
  std::ostringstream rendered;
  table.print(rendered);
  out += indentLines(rendered.str(), "  ");
  for (const auto& c : backend.capabilities)
    if (c.semantics == "unsupported" && !c.reason.empty())
      out += "  " + c.accessMode + "/" + c.volumeMode + " unsupported: " + c.reason + "\n";
  out += "  live migration: " + std::string(backend.liveMigration.supported ? "yes (" : "no: ") +
         backend.liveMigration.detail + (backend.liveMigration.supported ? ")" : "") + "\n";
  out += "  group snapshots: " + backend.groupSnapshots + "\n";
  out += "  VolumeAttributesClass may change: " + formatMutableParameters(backend) + "\n";
  out += "  volume health reported by: " + formatVolumeCondition(backend) + "\n";
  if (backend.problem.empty() && !claimProperties(backend).empty()) {
    out += "  PVC for a VM disk (StorageClass " + backend.storageClass + "):\n";
    out += indentLines(toYaml(pvcFor(backend, size)), "    ");
  }
  out += "  CDI StorageProfile:\n";
  out += indentLines(toYaml(storageProfileFor(backend)), "    ");
  return out;
}

std::string toYaml(const ordered_json& value) {
  if (!value.is_structured()) return yamlScalar(value) + "\n";
  if (value.empty()) return value.is_object() ? "{}\n" : "[]\n";
  std::string out;
  writeYaml(value, 0, out);
  return out;
}

}  // namespace polycsi::csictl
