// Reads what a kustomize overlay under deploy/overlays deploys, from the files themselves (no
// kustomize binary): the polycsi config its Secret is generated from, and the containers of the
// controller Deployment and the node DaemonSet after the overlay's strategic-merge patches.
// Only the kustomize features deploy/ uses are understood; anything else that could change
// the containers (other patch kinds, components, image overrides) is refused by name, so the
// reading never silently differs from what `kubectl apply -k` would deploy.
#pragma once

#include <string>
#include <vector>

namespace polycsi::testing {

struct DeployedContainer {
  std::string name;
  std::string image;  // "registry/path/name:tag" as written
  std::vector<std::string> args;

  // The image's last path element without the tag ("csi-resizer"), and its tag ("v1.12.0").
  std::string imageName() const;
  std::string imageTag() const;
};

struct OverlayDeployment {
  std::string overlay;     // the overlay's directory name, e.g. "nfs"
  std::string configPath;  // the file the polycsi-config Secret is generated from
  std::vector<DeployedContainer> controller;  // Deployment polycsi-controller
  std::vector<DeployedContainer> node;        // DaemonSet polycsi-node
};

// The overlay directories under `overlaysDir`, sorted by name.
std::vector<std::string> overlayNames(const std::string& overlaysDir);

// Reads `<overlaysDir>/<name>`. Throws std::runtime_error naming the file and the construct it
// does not understand.
OverlayDeployment readOverlay(const std::string& overlaysDir, const std::string& name);

}  // namespace polycsi::testing
