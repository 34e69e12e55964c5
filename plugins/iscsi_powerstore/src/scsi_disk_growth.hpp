// Growing the node's view of a LUN the array has grown: the Linux SCSI disk driver reads a
// disk's capacity when the disk appears and again only when asked, so after
// ControllerExpandVolume the node's /dev/sdX keeps its old size until it is rescanned (writing
// to the disk's device/rescan attribute: sd_rescan() in drivers/scsi/sd.c, the same trigger
// `iscsiadm -m session -R` pulls for every disk of a session). Without it resize2fs would run
// on a device that has not grown and the volume would report a size its filesystem lacks.
// THREADING: no state; the kernel serialises rescans of one disk.
// IDEMPOTENCY: a rescan of a disk that already shows its size changes nothing.
#pragma once

#include <cstdint>
#include <string>

#include "polycsi/block_device_sysfs.hpp"
#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {

// Rescans the SCSI disk at `devicePath` (the attach result: a /dev/disk/by-path link to an sd
// device) and returns its size in bytes, which is at least `requiredBytes`. NOT_FOUND when the
// device is gone; FAILED_PRECONDITION when it is not a SCSI disk or still smaller after the
// rescan (both sizes named).
int64_t rescanScsiDisk(const BlockDeviceSysfs& sysfs, const std::string& devicePath,
                       int64_t requiredBytes, const Call& call);
// The same for the SCSI disk the kernel names `disk` (sdX): a path of a multipath map.
int64_t rescanScsiDiskNamed(const BlockDeviceSysfs& sysfs, const std::string& disk,
                            int64_t requiredBytes, const Call& call);

}  // namespace polycsi::iscsi_powerstore
