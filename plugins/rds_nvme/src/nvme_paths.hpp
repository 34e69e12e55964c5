// The NVMe/TCP paths of a volume: the addresses of the RDS a node connects to, all exporting
// the same subsystem NQN on the same port. A RouterOS RDS exports a disk with
// nvme-tcp-export=yes on every address of the router, so a box with two data interfaces offers
// two paths to one subsystem; the node connects each and the kernel's native NVMe multipath
// joins them into one block device (nvme_volume_connections.hpp).
//
// How the addresses travel (README.md, "NVMe/TCP multipath"):
//   settings      nvme_addresses (a list) or nvme_address (one); neither: address.
//   CreateVolume  the volume context keeps `nvmeAddress`, the first path, as before (rds-csi's
//                 key; its PVs and older polycsi PVs carry only this).
//   Publish       the publish context carries `nvmeAddresses`, the backend's current list (or
//                 the volume's own address when its StorageClass pointed it elsewhere).
//   NodeStage     connects the publish context's `nvmeAddresses`; without it (a VolumeAttachment
//                 of an older version) the volume context's `nvmeAddress` alone.
//
// THREADING: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"
#include "routeros_values.hpp"

namespace polycsi::rds_nvme {

// The context key of the comma-separated path list.
inline constexpr char kNvmeAddressesKey[] = "nvmeAddresses";
// At most this many paths per volume: more is a configuration mistake, not a topology.
inline constexpr size_t kMaxNvmePaths = 8;

// Parses "10.0.0.1,10.0.1.1" (blanks around entries allowed). INVALID_ARGUMENT naming `what`
// when the list is empty, an entry is not a host address, an address repeats (compared without
// case), or there are more than kMaxNvmePaths.
std::vector<HostAddress> parseNvmeAddressList(std::string_view text, std::string_view what);

// "10.0.0.1,10.0.1.1": the form parseNvmeAddressList reads.
std::string joinNvmeAddresses(const std::vector<HostAddress>& addresses);

// The paths ControllerPublish hands to the node: `configured` (the backend's list) when the
// volume context's nvmeAddress is absent or one of them, else that address alone (a
// StorageClass nvmeAddress that names another target keeps its single path).
std::vector<HostAddress> publishedNvmeAddresses(const StringMap& volumeContext,
                                                const std::vector<HostAddress>& configured);

// The addresses NodeStage connects: the publish context's nvmeAddresses when present, else the
// volume context's nvmeAddress. INVALID_ARGUMENT naming the context and key when missing or
// malformed.
std::vector<HostAddress> nodeNvmeAddresses(const StringMap& volumeContext,
                                           const StringMap& publishContext,
                                           const std::string& volumeId);

}  // namespace polycsi::rds_nvme
