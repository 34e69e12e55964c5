// Where a volume lives inside its export: the StorageClass's `subDir` template, expanded and
// checked so that the result can never leave the export.
//
// THREADING: stateless functions; thread-safe.
#pragma once

#include <string>

#include "polycsi/types.hpp"

namespace polycsi::nfs {

// The values a template may name. Empty fields are "not provided".
struct SubDirVariables {
  std::string volumeName;    // the CSI volume name (the PV's name under Kubernetes)
  std::string pvcName;       // csi.storage.k8s.io/pvc/name
  std::string pvcNamespace;  // csi.storage.k8s.io/pvc/namespace
  std::string pvName;        // csi.storage.k8s.io/pv/name
};

// Expands ${pvc.metadata.name}, ${pvc.metadata.namespace} and ${pv.metadata.name} in
// `templateText`; an empty template means the volume name. The result is checked with
// checkSubDir. Throws INVALID_ARGUMENT for an unknown or unterminated ${...}, for a variable the
// request did not provide, and for any result checkSubDir refuses.
std::string expandSubDir(const std::string& templateText, const SubDirVariables& variables);

// Checks a path relative to the export: not empty, not absolute, at most 1024 bytes and 16
// components of at most 255 bytes, no control character or backslash, no empty, "." or ".."
// component, no component starting with '.' (the plugin's own `.polycsi` and `.snapshots`
// live there) and a first component not starting with "archived-" (archived volumes). Throws
// INVALID_ARGUMENT naming `what` and the offending part.
void checkSubDir(const std::string& path, const std::string& what);

// `text` with control bytes escaped as \xNN and cut to 200 bytes, for error messages.
std::string printable(const std::string& text);

}  // namespace polycsi::nfs
