// The nfs backend's configuration (the `settings` of its entry in the driver config) and the
// StorageClass parameters that override it per volume. See README.md for every key.
//
// THREADING: plain values, parsed once at init (settings) or per call (parameters).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::nfs {

// What happens to a volume's directory when the volume is deleted.
enum class OnDelete { kDelete, kRetain, kArchive };

const char* onDeleteName(OnDelete policy);
// "delete" | "retain" | "archive"; INVALID_ARGUMENT naming `what` otherwise.
OnDelete parseOnDelete(const std::string& text, const std::string& what);

// One NFS export as the controller's client reaches it.
struct NfsExport {
  std::string server;  // host name or IPv4 address
  std::string share;   // absolute export path, e.g. "/nas1-fs" or "/srv/nfs"
};

// Checks a server name: a host name or IPv4 address of [A-Za-z0-9.-], not starting with '-'.
void checkServer(const std::string& server, const std::string& what);
// Checks an export path: absolute, no "..", no control character, no trailing '/' unless "/".
void checkShare(const std::string& share, const std::string& what);

struct NfsSettings {
  // The default export; required on a controller (it also holds the plugin's records in
  // <share>/.polycsi, see README.md), unused on a node.
  std::optional<NfsExport> home;
  // The controller's client protocol: 3 or 4 (4.0; libnfs speaks no 4.1).
  int version = 4;
  // Fixed ports, for servers without a portmapper (NFSv3) or on a non-standard port.
  std::optional<int> nfsPort;
  std::optional<int> mountPort;
  // Bound on every single NFS call (whole seconds, as libnfs counts them).
  std::chrono::seconds timeout{10};
  // Defaults for the StorageClass parameters of the same meaning.
  std::string subDir;  // empty: the volume name
  int mountPermissions = 0777;
  OnDelete onDelete = OnDelete::kDelete;
  // Mount options the node adds to every mount (the StorageClass's mountOptions come on top).
  std::vector<std::string> mountOptions;

  // Parses and checks `settings`; throws INVALID_ARGUMENT naming the offending key. With
  // `controller` true, server and share are required. Keys outside nfsSettingSpecs() are
  // ignored: the core refuses them against the descriptor first.
  static NfsSettings parse(const StringMap& settings, bool controller);
};

// The setting and StorageClass parameter specs the descriptor declares (kept next to the
// parsers so they cannot drift).
std::vector<SettingSpec> nfsSettingSpecs();
std::vector<SettingSpec> nfsParameterSpecs();

// A volume's placement and policy, from the StorageClass parameters over the settings.
struct VolumeOptions {
  NfsExport where;
  std::string subDirTemplate;
  int mountPermissions = 0777;
  OnDelete onDelete = OnDelete::kDelete;
};

// Resolves `parameters` (CreateVolume or GetCapacity) over `settings`; throws INVALID_ARGUMENT
// naming the offending parameter. The provisioner's csi.storage.k8s.io/ keys are ignored here.
VolumeOptions resolveVolumeOptions(const StringMap& parameters, const NfsSettings& settings);

// Parses an octal permission string such as "0777" or "750" (at most 0777); INVALID_ARGUMENT
// naming `what` otherwise. Special bits are refused: NFSv4 clients cannot set them on a
// directory through libnfs, and a volume root does not need them.
int parsePermissions(const std::string& text, const std::string& what);

}  // namespace polycsi::nfs
