#include "scsi_disk_growth.hpp"

#include <filesystem>

namespace polycsi::iscsi_powerstore {

namespace {
// The kernel applies a SCSI rescan within the write to device/rescan; a few more looks cover a
// LUN the target re-announces just after (tgtd re-adds a grown LUN).
constexpr int kSizeLooks = 10;
}  // namespace

int64_t rescanScsiDisk(const BlockDeviceSysfs& sysfs, const std::string& devicePath,
                       int64_t requiredBytes, const Call& call) {
  const std::string disk = sysfs.kernelName(devicePath);
  if (!std::filesystem::exists(sysfs.deviceDir(disk) / "device" / "rescan"))
    throw Error(Code::kFailedPrecondition,
                "device " + devicePath + " (" + disk + ") is not a SCSI disk: " +
                    (sysfs.deviceDir(disk) / "device/rescan").string() + " does not exist");
  return rescanScsiDiskNamed(sysfs, disk, requiredBytes, call);
}

int64_t rescanScsiDiskNamed(const BlockDeviceSysfs& sysfs, const std::string& disk,
                            int64_t requiredBytes, const Call& call) {
  const auto trigger = sysfs.deviceDir(disk) / "device" / "rescan";
  if (!std::filesystem::exists(trigger))
    throw Error(Code::kFailedPrecondition,
                "device " + disk + " is not a SCSI disk: " + trigger.string() + " does not exist");
  call.checkpoint("rescanning " + disk);
  writeSysfsTrigger(trigger);
  return sysfs.waitForBytes(disk, requiredBytes, call, kSizeLooks);
}

}  // namespace polycsi::iscsi_powerstore
