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
  return VolumePlacement{*settings.basePath, poolFor(*settings.basePath, settings),
                         settings.nvmeAddress.value_or(*settings.address), settings.nvmePort};
}

VolumePlacement resolvePlacement(const StringMap& parameters, const RdsSettings& settings) {
  for (const auto& [key, value] : parameters) {
    bool known = key == kRdsAddress || key == kRdsPort || key == kRdsBasePath ||
                 key == kVolumePath || key == kNvmeAddress || key == kNvmePort;
    if (!known)
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter " + printableForMessage(key) +
                      " is not understood by the rds_nvme plugin (accepted: rdsAddress, rdsPort, "
                      "rdsBasePath, volumePath, nvmeAddress, nvmePort)");
  }
  VolumePlacement placement = defaultPlacement(settings);
  if (const std::string* v = find(parameters, kRdsAddress)) {
    HostAddress address = HostAddress::parse(*v, parameter(kRdsAddress));
    if (lower(address.str()) != lower(settings.address->str()))
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter rdsAddress=" + address.str() +
                      " differs from this backend's RDS (" + settings.address->str() +
                      "); SSH credentials are configured per backend, so configure another "
                      "backend for " + address.str() + " and select it with parameters.backend");
  }
  if (const std::string* v = find(parameters, kRdsPort)) {
    PortNumber port = PortNumber::parse(*v, parameter(kRdsPort));
    if (!(port == settings.port))
      throw Error(Code::kInvalidArgument,
                  "StorageClass parameter rdsPort=" + port.str() +
                      " differs from this backend's SSH port (" + settings.port.str() +
                      "); configure another backend for that RDS");
  }
  const std::string* base = find(parameters, kRdsBasePath);
  const std::string* alias = find(parameters, kVolumePath);
  if (base && alias && *base != *alias)
    throw Error(Code::kInvalidArgument,
                "StorageClass parameters rdsBasePath and volumePath are aliases but differ: " +
                    printableForMessage(*base) + " vs " + printableForMessage(*alias));
  if (base || alias) {
    placement.basePath = DiskPath::parse(base ? *base : *alias,
                                         parameter(base ? kRdsBasePath : kVolumePath));
    placement.pool = poolFor(placement.basePath, settings);
  }
  if (const std::string* v = find(parameters, kNvmeAddress))
    placement.nvmeAddress = HostAddress::parse(*v, parameter(kNvmeAddress));
  if (const std::string* v = find(parameters, kNvmePort))
    placement.nvmePort = PortNumber::parse(*v, parameter(kNvmePort));
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
  };
}

}  // namespace polycsi::rds_nvme
