// Growing the node's view of a namespace the RDS has grown. The Linux NVMe host learns a new
// namespace size when it scans the controller's namespaces: on a Namespace Attribute Changed
// event, if the target sends one after `/disk set file-size` (the kernel target does when it
// revalidates), or when asked (rescan_controller, `nvme ns-rescan`). NodeExpandVolume asks, on
// every controller of the namespace's subsystem, and waits for the size, so growth does not
// depend on the target's event.
// THREADING: no state. IDEMPOTENCY: a rescan of a namespace that shows its size changes nothing.
#pragma once

#include <cstdint>
#include <string>

#include "nvme_sysfs.hpp"
#include "polycsi/block_device_sysfs.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

// Rescans the namespace at `devicePath` (the attach result, e.g. the multipath head
// /dev/nvme2n1) through each live controller of it (every path of its subsystem) and returns
// the device's size in bytes once it is at least `requiredBytes` (waiting up to 5 s: the kernel
// scans in the background). Paths that are down are skipped. NOT_FOUND when the device is gone;
// FAILED_PRECONDITION when no controller shows it or it is still smaller (both sizes named);
// UNAVAILABLE when none of its controllers is live.
int64_t rescanNamespace(const NvmeSysfs& nvme, const BlockDeviceSysfs& blocks,
                        const std::string& devicePath, int64_t requiredBytes, const Call& call);

}  // namespace polycsi::rds_nvme
