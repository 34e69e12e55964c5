#include "backend_comparison.hpp"

#include <sstream>
#include <stdexcept>

#include "output.hpp"

namespace polycsi::csictl {
namespace {

using nlohmann::ordered_json;

constexpr char kRwx[] = "MULTI_NODE_MULTI_WRITER";
constexpr char kRwo[] = "SINGLE_NODE_WRITER";

std::string semanticsOf(const BackendCheckup& backend, const std::string& accessMode,
                        const std::string& volumeMode) {
  for (const auto& c : backend.capabilities)
    if (c.accessMode == accessMode && c.volumeMode == volumeMode) return c.semantics;
  return "unsupported";
}

std::string joinOrDash(const std::vector<std::string>& parts) {
  if (parts.empty()) return "-";
  std::string text;
  for (const auto& part : parts) text += (text.empty() ? "" : ", ") + part;
  return text;
}

// What several nodes get under `semantics`, in the words of the table.
std::string multiNodeMeaning(const std::string& semantics) {
  if (semantics == "migration_window") return "migration window";
  if (semantics == "shared") return "shared";
  if (semantics == "exclusive") return "one node";
  return semantics;
}

std::string modesOf(const BackendCheckup& backend, const std::string& accessMode,
                    bool withMeaning) {
  std::vector<std::string> modes;
  for (const auto& [volumeMode, shown] :
       {std::pair<std::string, std::string>{"block", "Block"}, {"filesystem", "Filesystem"}}) {
    const std::string semantics = semanticsOf(backend, accessMode, volumeMode);
    if (semantics == "unsupported") continue;
    modes.push_back(withMeaning ? shown + " (" + multiNodeMeaning(semantics) + ")" : shown);
  }
  return joinOrDash(modes);
}

// Where the backend reports volume health, in the table's words.
std::string healthOf(const BackendComparison& row) {
  std::vector<std::string> where;
  if (row.controllerVolumeCondition) where.push_back("controller");
  if (row.nodeVolumeCondition) where.push_back("node");
  return joinOrDash(where);
}

std::string secondNodeFor(const std::string& semantics) {
  if (semantics == "exclusive") return "refused";
  if (semantics == "shared") return "allowed";
  if (semantics == "migration_window") return "during migration window";
  throw std::logic_error("no second-node answer for semantics '" + semantics + "'");
}

}  // namespace

std::vector<BackendComparison> compareBackends(const DriverCheckup& checkup) {
  std::vector<BackendComparison> rows;
  for (const auto& backend : checkup.backends) {
    BackendComparison row;
    row.backend = backend.name;
    row.plugin = backend.plugin;
    row.storageClass = backend.storageClass;
    row.topology = formatTopology(backend.topology);
    row.readWriteOnce = modesOf(backend, kRwo, false);
    row.readWriteMany = modesOf(backend, kRwx, true);
    row.liveMigration = backend.liveMigration.supported;
    row.why = backend.liveMigration.detail;
    row.groupSnapshots = backend.groupSnapshots;
    row.mutableParameters = backend.mutableParameters;
    row.controllerVolumeCondition = backend.controllerVolumeCondition;
    row.nodeVolumeCondition = backend.nodeVolumeCondition;
    row.vmDisk = "-";
    row.secondNode = "-";
    ordered_json pvc;
    try {
      pvc = pvcFor(backend, "1Gi");
    } catch (const std::runtime_error&) {
      // Neither RWX nor RWO: no PVC fits, which the "-" cells say.
    }
    if (!pvc.is_null()) {
      const std::string accessMode = pvc["spec"]["accessModes"][0];
      const std::string volumeMode = pvc["spec"]["volumeMode"];
      const bool rwx = accessMode == "ReadWriteMany";
      row.vmDisk = (rwx ? "RWX " : "RWO ") + volumeMode;
      const std::string csiMode = rwx ? kRwx : kRwo;
      row.secondNode = secondNodeFor(
          semanticsOf(backend, csiMode, volumeMode == "Block" ? "block" : "filesystem"));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string formatComparison(const DriverCheckup& checkup) {
  const auto rows = compareBackends(checkup);
  // The TOPOLOGY column only when a backend is not reachable from every node.
  bool anyTopology = false;
  for (const auto& backend : checkup.backends)
    anyTopology = anyTopology || !backend.topology.empty();
  std::vector<std::string> header = {
      "BACKEND",        "PLUGIN",         "RWO",         "RWX",   "VM DISK PVC", "2ND NODE",
      "LIVE MIGRATION", "GROUP SNAPSHOT", "VAC MUTABLE", "HEALTH"};
  if (anyTopology) header.push_back("TOPOLOGY");
  TextTable table(header);
  for (const auto& row : rows) {
    std::vector<std::string> cells = {row.backend,
                                      row.plugin,
                                      row.readWriteOnce,
                                      row.readWriteMany,
                                      row.vmDisk,
                                      row.secondNode,
                                      row.liveMigration ? "yes" : "no",
                                      row.groupSnapshots,
                                      joinOrDash(row.mutableParameters),
                                      healthOf(row)};
    if (anyTopology) cells.push_back(row.topology);
    table.addRow(cells);
  }
  std::ostringstream out;
  out << "driver " << checkup.driverName << " " << checkup.driverVersion
      << ": which backend can carry a KubeVirt VM that live-migrates\n";
  table.print(out);
  out << "why:\n";
  for (const auto& row : rows)
    out << "  " << row.backend << " (StorageClass " << row.storageClass << "): " << row.why << '\n';
  return out.str();
}

ordered_json comparisonJson(const DriverCheckup& checkup) {
  ordered_json report;
  report["driver"] = checkup.driverName;
  report["version"] = checkup.driverVersion;
  report["backends"] = ordered_json::array();
  for (const auto& row : compareBackends(checkup))
    report["backends"].push_back(
        {{"backend", row.backend},
         {"plugin", row.plugin},
         {"storageClass", row.storageClass},
         {"topology", row.topology},
         {"readWriteOnce", row.readWriteOnce},
         {"readWriteMany", row.readWriteMany},
         {"vmDisk", row.vmDisk},
         {"secondNode", row.secondNode},
         {"liveMigration", row.liveMigration},
         {"why", row.why},
         {"groupSnapshots", row.groupSnapshots},
         {"mutableParameters", row.mutableParameters},
         {"volumeCondition",
          {{"controller", row.controllerVolumeCondition}, {"node", row.nodeVolumeCondition}}}});
  return report;
}

}  // namespace polycsi::csictl
