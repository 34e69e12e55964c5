// StorageClass parameters of the rds_nvme plugin and how they combine with the settings.
//
//   rdsAddress, rdsPort    must name this backend's RDS (address/port settings): the SSH
//                          credentials belong to the backend, so a StorageClass cannot point a
//                          volume at another RDS (configure another backend for that).
//   rdsBasePath/volumePath directory for the volume's file (overrides base_path; aliases).
//   nvmeAddress, nvmePort  where nodes connect for NVMe/TCP (override nvme_address/nvme_port);
//                          an nvmeAddress outside nvme_addresses is the volume's only path.
//   sshPort, fsType,       rds-csi's StorageClass keys (docs/migrating-from-rds-csi.md):
//   nqnPrefix              sshPort as rdsPort, fsType without effect (as there), nqnPrefix
//                          must equal nqn_prefix.
//   ctrlLossTmo,           the node's NVMe/TCP connect tuning for this class's volumes, as
//   reconnectDelay,        rds-csi names them (nvme_connect_tuning.hpp): carried to the node
//   keepAliveTmo           in the volume context; absent, the node's settings apply.
// migrationTimeoutSeconds and csi.storage.k8s.io/* are consumed by the core and never arrive.
//
// THREADING: pure functions.
#pragma once

#include <vector>

#include "nvme_connect_tuning.hpp"
#include "polycsi/types.hpp"
#include "rds_settings.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

// Where and how one volume lives.
struct VolumePlacement {
  DiskPath basePath;
  MountPoint pool;
  HostAddress nvmeAddress;
  PortNumber nvmePort;
  NvmeConnectTuning tuning;  // what the StorageClass sets; the node's settings for the rest
};

// Validates `parameters` (INVALID_ARGUMENT naming the parameter) and merges them over
// `settings` (which must be a controller's, with address and base_path).
VolumePlacement resolvePlacement(const StringMap& parameters, const RdsSettings& settings);

// The placement from the settings alone (for calls without parameters).
VolumePlacement defaultPlacement(const RdsSettings& settings);

// The mount point whose free space counts for `basePath`: the `pool` setting when base_path
// lies under it, else basePath's first component.
MountPoint poolFor(const DiskPath& basePath, const RdsSettings& settings);

std::vector<SettingSpec> rdsParameterSpecs();

}  // namespace polycsi::rds_nvme
