#include "storage_class_parameters.hpp"

#include <algorithm>
#include <cctype>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

constexpr char kRdsAddress[] = "rdsAddress";
constexpr char kRdsPort[] = "rdsPort";
constexpr char kRdsBasePath[] = "rdsBasePath";
constexpr char kVolumePath[] = "volumePath";
constexpr char kNvmeAddress[] = "nvmeAddress";
constexpr char kNvmePort[] = "nvmePort";
// Parameters of rds-csi's StorageClasses (github.com/3whiskeywhiskey/rds-csi at 97597243,
// pkg/driver/controller.go and params.go), accepted where their meaning can be kept.
constexpr char kSshPort[] = "sshPort";      // declared there, never read: must match `port`
constexpr char kFsType[] = "fsType";        // only ever echoed into its publish context
constexpr char kNqnPrefix[] = "nqnPrefix";  // declared there, never read: must match

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const std::string* find(const StringMap& m, const char* key) {
  auto it = m.find(key);
  return it == m.end() ? nullptr : &it->second;
}

std::string parameter(const char* key) { return std::string("parameter '") + key + "'"; }

}  // namespace

MountPoint poolFor(const DiskPath& basePath, const RdsSettings& settings) {
  if (settings.pool && basePath.str().rfind("/" + settings.pool->str() + "/", 0) == 0)
    return *settings.pool;
  return MountPoint::parse(basePath.firstSegment(), "pool derived from the base path");
}

VolumePlacement defaultPlacement(const RdsSettings& settings) {
  if (!settings.address || !settings.basePath)
    throw Error(Code::kFailedPrecondition,
                "this rds_nvme instance has no 'address'/'base_path': it is not a controller");
  // The first path is the volume context's nvmeAddress; publish adds the others.
  return VolumePlacement{*settings.basePath, poolFor(*settings.basePath, settings),
                         settings.nvmePaths().front(), settings.nvmePort};
}

VolumePlacement resolvePlacement(const StringMap& parameters, const RdsSettings& settings) {
  for (const auto& [key, value] : parameters) {
    bool known = key == kRdsAddress || key == kRdsPort || key == kRdsBasePath ||
                 key == kVolumePath || key == kNvmeAddress || key == kNvmePort || key == kSshPort ||
                 key == kFsType || key == kNqnPrefix || key == kCtrlLossTmo ||
                 key == kReconnectDelay || key == kKeepAliveTmo;
    if (!known)
      throw Error(
          Code::kInvalidArgument,
          "StorageClass parameter " + printableForMessage(key) +
              " is not understood by the rds_nvme plugin (accepted: rdsAddress, rdsPort, "
              "rdsBasePath, volumePath, nvmeAddress, nvmePort, ctrlLossTmo, reconnectDelay, "
              "keepAliveTmo, and rds-csi's sshPort, fsType, nqnPrefix)");
  }
  VolumePlacement placement = defaultPlacement(settings);
  if (const std::string* v = find(parameters, kRdsAddress)) {
    HostAddress address = HostAddress::parse(*v, parameter(kRdsAddress));
    if (lower(address.str()) != lower(settings.address->str()))
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter rdsAddress=" + address.str() +
                      " differs from this backend's RDS (" + settings.address->str() +
                      "); SSH credentials are configured per backend, so configure another "
                      "backend for " +
                      address.str() + " and select it with parameters.backend");
  }
  for (const char* key : {kRdsPort, kSshPort}) {
    const std::string* v = find(parameters, key);
    if (v == nullptr) continue;
    PortNumber port = PortNumber::parse(*v, parameter(key));
    if (!(port == settings.port))
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter " + std::string(key) + "=" + port.str() +
                      " differs from this backend's SSH port (" + settings.port.str() +
                      "); configure another backend for that RDS");
  }
  if (const std::string* v = find(parameters, kNqnPrefix)) {
    if (*v != settings.nqnPrefix.str())
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter nqnPrefix=" + printableForMessage(*v) +
                      " differs from this backend's nqn_prefix (" + settings.nqnPrefix.str() +
                      "); volumes are exported as <nqn_prefix>:<slot>, so set nqn_prefix on the "
                      "backend and drop nqnPrefix from the StorageClass");
  }
  // fsType needs no check: rds-csi never acted on it (the filesystem is the capability's).
  const std::string* base = find(parameters, kRdsBasePath);
  const std::string* alias = find(parameters, kVolumePath);
  if (base && alias && *base != *alias)
    throw Error(Code::kInvalidArgument,
                "StorageClass parameters rdsBasePath and volumePath are aliases but differ: " +
                    printableForMessage(*base) + " vs " + printableForMessage(*alias));
  if (base || alias) {
    placement.basePath =
        DiskPath::parse(base ? *base : *alias, parameter(base ? kRdsBasePath : kVolumePath));
    placement.pool = poolFor(placement.basePath, settings);
  }
  if (const std::string* v = find(parameters, kNvmeAddress))
    placement.nvmeAddress = HostAddress::parse(*v, parameter(kNvmeAddress));
  if (const std::string* v = find(parameters, kNvmePort))
    placement.nvmePort = PortNumber::parse(*v, parameter(kNvmePort));
  placement.tuning = parseConnectTuning(parameters, "StorageClass parameter");
  return placement;
}

std::vector<SettingSpec> rdsParameterSpecs() {
  return {
      SettingSpec{kRdsAddress, SettingKind::kString, false, false,
                  "RDS address; must equal the backend's 'address' (checked, not switched)."},
      SettingSpec{kRdsPort, SettingKind::kString, false, false,
                  "RDS SSH port; must equal the backend's 'port'."},
      SettingSpec{kRdsBasePath, SettingKind::kString, false, false,
                  "Directory on the RDS for this class's volume files (overrides base_path)."},
      SettingSpec{kVolumePath, SettingKind::kString, false, false, "Alias of rdsBasePath."},
      SettingSpec{kNvmeAddress, SettingKind::kString, false, false,
                  "Address nodes connect to for NVMe/TCP (overrides nvme_address)."},
      SettingSpec{kNvmePort, SettingKind::kString, false, false,
                  "NVMe/TCP port of the export (overrides nvme_port)."},
      SettingSpec{kCtrlLossTmo, SettingKind::kString, false, false,
                  "Seconds a node keeps reconnecting a lost NVMe/TCP controller, I/O waiting, "
                  "before I/O fails: -1 forever, 0 the kernel's default, else 1-604800 "
                  "(overrides the node's ctrl_loss_tmo_seconds; rds-csi's name)."},
      SettingSpec{kReconnectDelay, SettingKind::kString, false, false,
                  "Seconds between a node's reconnect attempts, 1-3600 (overrides "
                  "reconnect_delay_seconds; rds-csi's name)."},
      SettingSpec{kKeepAliveTmo, SettingKind::kString, false, false,
                  "NVMe keep-alive timeout in seconds: 0 the kernel's default, else 1-3600 "
                  "(overrides keep_alive_tmo_seconds; rds-csi's name)."},
      SettingSpec{kSshPort, SettingKind::kString, false, false,
                  "rds-csi's name for rdsPort; must equal the backend's 'port'."},
      SettingSpec{kFsType, SettingKind::kString, false, false,
                  "Accepted from rds-csi StorageClasses and, as there, without effect (the "
                  "filesystem is csi.storage.k8s.io/fstype's)."},
      SettingSpec{kNqnPrefix, SettingKind::kString, false, false,
                  "Accepted from rds-csi StorageClasses; must equal the backend's nqn_prefix."},
  };
}

}  // namespace polycsi::rds_nvme
