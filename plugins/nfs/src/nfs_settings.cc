#include "nfs_settings.hpp"

#include <algorithm>
#include <charconv>

#include "subdir_template.hpp"

namespace polycsi::nfs {
namespace {

constexpr char kServer[] = "server";
constexpr char kShare[] = "share";
constexpr char kNfsVersion[] = "nfs_version";
constexpr char kNfsPort[] = "nfs_port";
constexpr char kMountPort[] = "mount_port";
constexpr char kTimeoutSeconds[] = "timeout_seconds";
constexpr char kSubDir[] = "sub_dir";
constexpr char kMountPermissions[] = "mount_permissions";
constexpr char kOnDelete[] = "on_delete";
constexpr char kMountOptions[] = "mount_options";

constexpr char kParamServer[] = "server";
constexpr char kParamShare[] = "share";
constexpr char kParamSubDir[] = "subDir";
constexpr char kParamMountPermissions[] = "mountPermissions";
constexpr char kParamOnDelete[] = "onDelete";
constexpr char kProvisionerPrefix[] = "csi.storage.k8s.io/";

Error invalid(const std::string& message) { return Error(Code::kInvalidArgument, message); }

const std::string* find(const StringMap& map, const char* key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

int integerIn(const std::string& text, int low, int high, const std::string& what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < low ||
      value > high)
    throw invalid(what + " must be an integer from " + std::to_string(low) + " to " +
                  std::to_string(high) + ", got '" + printable(text) + "'");
  return value;
}

bool isOptionCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("_.=:/+-").find(c) != std::string_view::npos;
}

std::vector<std::string> parseMountOptions(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string option = text.substr(start, end - start);
    if (option.empty() || !std::all_of(option.begin(), option.end(), isOptionCharacter))
      throw invalid(std::string("setting '") + kMountOptions +
                    "' must be a comma-separated list "
                    "of options of [A-Za-z0-9_.=:/+-], got '" +
                    printable(text) + "'");
    out.push_back(option);
    start = end + 1;
  }
  return out;
}

}  // namespace

const char* onDeleteName(OnDelete policy) {
  switch (policy) {
    case OnDelete::kDelete:
      return "delete";
    case OnDelete::kRetain:
      return "retain";
    case OnDelete::kArchive:
      return "archive";
  }
  return "delete";
}

OnDelete parseOnDelete(const std::string& text, const std::string& what) {
  if (text == "delete") return OnDelete::kDelete;
  if (text == "retain") return OnDelete::kRetain;
  if (text == "archive") return OnDelete::kArchive;
  throw invalid(what + " must be delete, retain or archive, got '" + printable(text) + "'");
}

void checkServer(const std::string& server, const std::string& what) {
  bool ok = !server.empty() && server.size() <= 253 && server.front() != '-' &&
            std::all_of(server.begin(), server.end(), [](char c) {
              return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '.' || c == '-';
            });
  if (!ok)
    throw invalid(what + " must be a host name or IPv4 address of [A-Za-z0-9.-], got '" +
                  printable(server) + "'");
}

void checkShare(const std::string& share, const std::string& what) {
  if (share.empty() || share.front() != '/')
    throw invalid(what + " must be an absolute export path such as /srv/nfs, got '" +
                  printable(share) + "'");
  if (share == "/") return;
  if (share.back() == '/')
    throw invalid(what + " must not end with '/', got '" + printable(share) + "'");
  // The rest obeys the same rules as a volume's path, except for the reserved prefixes.
  for (char c : share)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\')
      throw invalid(what + " contains a control character or backslash");
  size_t start = 1;
  while (start <= share.size()) {
    size_t end = share.find('/', start);
    if (end == std::string::npos) end = share.size();
    std::string_view component(share.data() + start, end - start);
    if (component.empty() || component == "." || component == "..")
      throw invalid(what + " has an empty, '.' or '..' component: '" + printable(share) + "'");
    start = end + 1;
  }
}

int parsePermissions(const std::string& text, const std::string& what) {
  bool digits = !text.empty() && text.size() <= 4 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '7'; });
  int value = 0;
  if (digits) std::from_chars(text.data(), text.data() + text.size(), value, 8);
  if (!digits || value > 0777)
    throw invalid(what + " must be octal permissions from 0 to 0777 such as 0775, got '" +
                  printable(text) + "'");
  return value;
}

NfsSettings NfsSettings::parse(const StringMap& settings, bool controller) {
  // Unknown keys never get here: the core refuses them against nfsSettingSpecs().
  NfsSettings out;
  const std::string* server = find(settings, kServer);
  const std::string* share = find(settings, kShare);
  if (server != nullptr || share != nullptr) {
    if (server == nullptr || share == nullptr)
      throw invalid("settings 'server' and 'share' go together: set both or neither");
    checkServer(*server, "setting 'server'");
    checkShare(*share, "setting 'share'");
    out.home = NfsExport{*server, *share};
  } else if (controller) {
    throw invalid("settings 'server' and 'share' are required on a controller");
  }
  if (const std::string* v = find(settings, kNfsVersion)) {
    if (*v == "3")
      out.version = 3;
    else if (*v == "4" || *v == "4.0")
      out.version = 4;
    else
      throw invalid(
          "setting 'nfs_version' must be 3 or 4 (4.0; the controller's client speaks "
          "no 4.1 or 4.2, mounts on nodes take any version from mount options), got '" +
          printable(*v) + "'");
  }
  if (const std::string* v = find(settings, kNfsPort))
    out.nfsPort = integerIn(*v, 1, 65535, "setting 'nfs_port'");
  if (const std::string* v = find(settings, kMountPort))
    out.mountPort = integerIn(*v, 1, 65535, "setting 'mount_port'");
  if (const std::string* v = find(settings, kTimeoutSeconds))
    out.timeout = std::chrono::seconds(integerIn(*v, 1, 300, "setting 'timeout_seconds'"));
  if (const std::string* v = find(settings, kSubDir)) {
    // A template is checked by expanding it with placeholder values for every variable.
    expandSubDir(*v, SubDirVariables{"volume", "claim", "namespace", "pv"});
    out.subDir = *v;
  }
  if (const std::string* v = find(settings, kMountPermissions))
    out.mountPermissions = parsePermissions(*v, "setting 'mount_permissions'");
  if (const std::string* v = find(settings, kOnDelete))
    out.onDelete = parseOnDelete(*v, "setting 'on_delete'");
  if (const std::string* v = find(settings, kMountOptions))
    out.mountOptions = parseMountOptions(*v);
  return out;
}

VolumeOptions resolveVolumeOptions(const StringMap& parameters, const NfsSettings& settings) {
  for (const auto& [key, value] : parameters) {
    bool known = key == kParamServer || key == kParamShare || key == kParamSubDir ||
                 key == kParamMountPermissions || key == kParamOnDelete ||
                 key.rfind(kProvisionerPrefix, 0) == 0;
    if (!known)
      throw invalid("StorageClass parameter '" + printable(key) +
                    "' is not understood by the nfs plugin (accepted: server, share, subDir, "
                    "mountPermissions, onDelete)");
  }
  if (!settings.home)
    throw Error(Code::kFailedPrecondition,
                "this nfs instance has no 'server'/'share' settings: it is not a controller");
  VolumeOptions out;
  out.where = *settings.home;
  out.subDirTemplate = settings.subDir;
  out.mountPermissions = settings.mountPermissions;
  out.onDelete = settings.onDelete;
  if (const std::string* v = find(parameters, kParamServer)) {
    checkServer(*v, "StorageClass parameter 'server'");
    out.where.server = *v;
  }
  if (const std::string* v = find(parameters, kParamShare)) {
    checkShare(*v, "StorageClass parameter 'share'");
    out.where.share = *v;
  }
  if (const std::string* v = find(parameters, kParamSubDir)) out.subDirTemplate = *v;
  if (const std::string* v = find(parameters, kParamMountPermissions))
    out.mountPermissions = parsePermissions(*v, "StorageClass parameter 'mountPermissions'");
  if (const std::string* v = find(parameters, kParamOnDelete))
    out.onDelete = parseOnDelete(*v, "StorageClass parameter 'onDelete'");
  return out;
}

std::vector<SettingSpec> nfsSettingSpecs() {
  return {
      SettingSpec{kServer, SettingKind::kString, false, false,
                  "NFS server (host name or IPv4 address) of the default export. Required on a "
                  "controller, together with share.",
                  Role::kController},
      SettingSpec{kShare, SettingKind::kString, false, false,
                  "Absolute path of the default export, e.g. /srv/nfs or a PowerStore NAS "
                  "file system's export path. Volumes are subdirectories of it; it also keeps "
                  "the plugin's records in .polycsi/. Required on a controller.",
                  Role::kController},
      SettingSpec{kNfsVersion, SettingKind::kString, false, false,
                  "Protocol of the controller's own client: 4 (NFSv4.0, default) or 3. Node "
                  "mounts use whatever the mount options say (e.g. nfsvers=4.1)."},
      SettingSpec{kNfsPort, SettingKind::kInteger, false, false,
                  "NFS port, skipping the portmapper (default: 2049 for v4, portmapper for v3)."},
      SettingSpec{kMountPort, SettingKind::kInteger, false, false,
                  "MOUNT protocol port for NFSv3, skipping the portmapper."},
      SettingSpec{kTimeoutSeconds, SettingKind::kInteger, false, false,
                  "Bound on every NFS call of the controller, 1 to 300 seconds. Default: 10."},
      SettingSpec{kSubDir, SettingKind::kString, false, false,
                  "Default subDir template (see the StorageClass parameter). Default: the "
                  "volume name."},
      SettingSpec{kMountPermissions, SettingKind::kString, false, false,
                  "Default permissions of a new volume's directory, octal. Default: 0777."},
      SettingSpec{kOnDelete, SettingKind::kString, false, false,
                  "Default for onDelete: delete, retain or archive. Default: delete."},
      SettingSpec{kMountOptions, SettingKind::kString, false, false,
                  "Comma-separated mount options every node mount gets, before the "
                  "StorageClass's mountOptions (e.g. hard,timeo=600)."},
  };
}

std::vector<SettingSpec> nfsParameterSpecs() {
  return {
      SettingSpec{kParamServer, SettingKind::kString, false, false,
                  "NFS server for volumes of this StorageClass (default: setting server)."},
      SettingSpec{kParamShare, SettingKind::kString, false, false,
                  "Export path for volumes of this StorageClass (default: setting share)."},
      SettingSpec{kParamSubDir, SettingKind::kString, false, false,
                  "Subdirectory template: literal text with ${pvc.metadata.name}, "
                  "${pvc.metadata.namespace}, ${pv.metadata.name}. Never absolute, never '..'."},
      SettingSpec{kParamMountPermissions, SettingKind::kString, false, false,
                  "Octal permissions of the volume's directory, e.g. 0777."},
      SettingSpec{kParamOnDelete, SettingKind::kString, false, false,
                  "delete (remove the directory), retain (keep it) or archive (rename it to "
                  "archived-<subdir>-<timestamp>)."},
      SettingSpec{"csi.storage.k8s.io/pvc/name", SettingKind::kString, false, false,
                  "Set by the external-provisioner (--extra-create-metadata); for subDir."},
      SettingSpec{"csi.storage.k8s.io/pvc/namespace", SettingKind::kString, false, false,
                  "Set by the external-provisioner (--extra-create-metadata); for subDir."},
      SettingSpec{"csi.storage.k8s.io/pv/name", SettingKind::kString, false, false,
                  "Set by the external-provisioner (--extra-create-metadata); for subDir."},
  };
}

}  // namespace polycsi::nfs
