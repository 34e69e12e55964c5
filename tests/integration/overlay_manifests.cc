#include "overlay_manifests.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>

namespace polycsi::testing {
namespace {

namespace fs = std::filesystem;

using Containers = std::vector<DeployedContainer>;

const char* const kController = "polycsi-controller";
const char* const kNode = "polycsi-node";

[[noreturn]] void refuse(const fs::path& file, const std::string& what) {
  throw std::runtime_error(file.string() + ": " + what);
}

YAML::Node loadKustomization(const fs::path& dir) {
  const fs::path file = dir / "kustomization.yaml";
  YAML::Node k = YAML::LoadFile(file.string());
  // Every key that could change what runs, other than those handled below, is refused.
  static const std::set<std::string> kUnderstood = {
      "apiVersion",         "kind",    "resources", "secretGenerator",
      "configMapGenerator", "patches", "labels"};
  for (const auto& entry : k)
    if (!kUnderstood.count(entry.first.as<std::string>()))
      refuse(file, "kustomization key '" + entry.first.as<std::string>() +
                       "' is not understood by this reader (tests/integration/"
                       "overlay_manifests.cc); teach it, or the test would guess");
  return k;
}

DeployedContainer containerOf(const YAML::Node& c) {
  DeployedContainer out;
  out.name = c["name"].as<std::string>();
  if (c["image"]) out.image = c["image"].as<std::string>();
  if (c["args"])
    for (const auto& a : c["args"]) out.args.push_back(a.as<std::string>());
  return out;
}

// The containers of the workload `kind`/`name` in the YAML documents of `file`, if present.
bool workloadContainers(const fs::path& file, const std::string& kind, const std::string& name,
                        std::vector<YAML::Node>* out) {
  bool found = false;
  for (const auto& doc : YAML::LoadAllFromFile(file.string())) {
    if (!doc.IsMap() || doc["kind"].as<std::string>("") != kind ||
        doc["metadata"]["name"].as<std::string>("") != name)
      continue;
    found = true;
    const auto containers = doc["spec"]["template"]["spec"]["containers"];
    if (!containers) continue;
    for (const auto& c : containers) out->push_back(c);
  }
  return found;
}

// Applies one strategic-merge patch's containers (merge key: name) to `into`.
void applyPatch(const fs::path& file, const std::vector<YAML::Node>& patch, Containers& into) {
  for (const auto& c : patch) {
    const std::string name = c["name"].as<std::string>();
    auto it = std::find_if(into.begin(), into.end(),
                           [&](const DeployedContainer& d) { return d.name == name; });
    if (c["$patch"]) {
      if (c["$patch"].as<std::string>() != "delete")
        refuse(file, "container " + name + ": only '$patch: delete' is understood");
      if (it == into.end()) refuse(file, "deletes container " + name + ", which is not there");
      into.erase(it);
      continue;
    }
    if (it == into.end()) {
      into.push_back(containerOf(c));
      continue;
    }
    if (c["image"]) it->image = c["image"].as<std::string>();
    // Strategic merge replaces a list of scalars such as args as a whole.
    if (c["args"]) it->args = containerOf(c).args;
  }
}

// Reads the base's workloads from its kustomization's resources.
void readResources(const fs::path& dir, OverlayDeployment& out, bool& sawController,
                   bool& sawNode) {
  const YAML::Node k = loadKustomization(dir);
  if (k["patches"])
    refuse(dir / "kustomization.yaml", "patches in a resource directory are not understood");
  for (const auto& r : k["resources"]) {
    const fs::path path = fs::weakly_canonical(dir / r.as<std::string>());
    if (fs::is_directory(path)) {
      readResources(path, out, sawController, sawNode);
      continue;
    }
    std::vector<YAML::Node> containers;
    if (workloadContainers(path, "Deployment", kController, &containers)) {
      sawController = true;
      for (const auto& c : containers) out.controller.push_back(containerOf(c));
    }
    containers.clear();
    if (workloadContainers(path, "DaemonSet", kNode, &containers)) {
      sawNode = true;
      for (const auto& c : containers) out.node.push_back(containerOf(c));
    }
  }
}

}  // namespace

std::string DeployedContainer::imageName() const {
  std::string repo = image.substr(0, image.rfind(':'));
  return repo.substr(repo.rfind('/') + 1);
}

std::string DeployedContainer::imageTag() const {
  auto colon = image.rfind(':');
  if (colon == std::string::npos || image.find('/', colon) != std::string::npos) return "";
  return image.substr(colon + 1);
}

std::vector<std::string> overlayNames(const std::string& overlaysDir) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(overlaysDir))
    if (entry.is_directory() && fs::exists(entry.path() / "kustomization.yaml"))
      out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

OverlayDeployment readOverlay(const std::string& overlaysDir, const std::string& name) {
  const fs::path dir = fs::path(overlaysDir) / name;
  const fs::path kfile = dir / "kustomization.yaml";
  OverlayDeployment out;
  out.overlay = name;
  const YAML::Node k = loadKustomization(dir);

  bool sawController = false, sawNode = false;
  for (const auto& r : k["resources"]) {
    const fs::path path = fs::weakly_canonical(dir / r.as<std::string>());
    if (fs::is_directory(path)) {
      readResources(path, out, sawController, sawNode);
    } else {
      std::vector<YAML::Node> containers;
      if (workloadContainers(path, "Deployment", kController, &containers) ||
          workloadContainers(path, "DaemonSet", kNode, &containers))
        refuse(path, "an overlay resource defines a polycsi workload; patch the base instead");
    }
  }
  if (!sawController || !sawNode)
    refuse(kfile, "no Deployment polycsi-controller and DaemonSet polycsi-node in its resources");

  for (const char* generators : {"secretGenerator", "configMapGenerator"})
    for (const auto& g : k[generators]) {
      if (g["name"].as<std::string>("") != "polycsi-config") continue;
      for (const auto& f : g["files"]) {
        std::string file = f.as<std::string>();
        // "key=path" names the key; the driver reads key config.yaml.
        auto eq = file.find('=');
        if (eq != std::string::npos) {
          if (file.substr(0, eq) != "config.yaml") continue;
          file = file.substr(eq + 1);
        } else if (fs::path(file).filename() != "config.yaml") {
          continue;
        }
        out.configPath = (dir / file).string();
      }
    }
  if (out.configPath.empty())
    refuse(kfile,
           "generates no polycsi-config with a config.yaml (deploy/base/controller.yaml "
           "mounts it at /etc/polycsi)");

  for (const auto& p : k["patches"]) {
    if (!p["path"] || p["target"] || p["patch"])
      refuse(kfile, "only patches given as `- path: <strategic-merge file>` are understood");
    const fs::path file = dir / p["path"].as<std::string>();
    std::vector<YAML::Node> containers;
    if (workloadContainers(file, "Deployment", kController, &containers))
      applyPatch(file, containers, out.controller);
    containers.clear();
    if (workloadContainers(file, "DaemonSet", kNode, &containers))
      applyPatch(file, containers, out.node);
  }
  return out;
}

}  // namespace polycsi::testing
