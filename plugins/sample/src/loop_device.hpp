// Loop devices: a regular file shown as a block device (/dev/loopN), through the kernel's loop
// driver ioctls. The sample plugin's node half attaches each volume image this way.
//
// Which loop device serves which file is read from /sys/block/loopN/loop/backing_file, the path
// the kernel reports, with " (deleted)" appended when the file has since been unlinked. Only
// devices whose backing file is exactly the given image are ever changed, so devices of other
// programs are never touched. Only devices with a size are looked at (the kernel lists them in
// /proc/partitions), so a device bound to an empty file is not found: volume images never are.
//
// THREADING: safe from several threads; attaching two different files at once races for a free
// device, which attachLoopDevice resolves by retrying. Callers must not attach or detach the
// same file from two threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::sample {

struct LoopDevice {
  int index = -1;           // N of /dev/loopN
  std::string devicePath;   // "/dev/loopN"
  std::string backingFile;  // as the kernel reports it, without " (deleted)"
  bool backingFileDeleted = false;
  bool readOnly = false;
};

// Every bound loop device whose backing file is `image` (an absolute, canonical path), also
// those whose file was deleted since. Sorted by index.
std::vector<LoopDevice> findLoopDevices(const std::filesystem::path& image);

// Every bound loop device whose backing file lies under `dir` (canonical, absolute, not "/";
// else INVALID_ARGUMENT). Sorted by index.
std::vector<LoopDevice> findLoopDevicesUnder(const std::filesystem::path& dir);

// The N of every whole loop device ("loopN", not its partitions "loopNpM") named in the text of
// /proc/partitions, which lists only disks whose size is not zero.
std::vector<int> loopIndexesInPartitions(std::string_view partitions);

// Binds `image` to a free loop device (LOOP_CTL_GET_FREE, then LOOP_CONFIGURE, or LOOP_SET_FD +
// LOOP_SET_STATUS64 on kernels without it) and returns it. `readOnly` makes the device refuse
// writes (LO_FLAGS_READ_ONLY, and the file is opened read-only). Does not look for an existing
// device first: see findLoopDevices. Throws UNAVAILABLE when the loop driver cannot be used,
// DEADLINE_EXCEEDED/CANCELLED per `call`.
LoopDevice attachLoopDevice(const std::filesystem::path& image, bool readOnly, const Call& call);

// Unbinds `device` (LOOP_CLR_FD). A device that is already unbound is success. When the device
// is still open elsewhere (mounted), the kernel unbinds it on its last close.
void detachLoopDevice(const LoopDevice& device);

// Makes `device` take the current size of its backing file (LOOP_SET_CAPACITY).
void refreshLoopCapacity(const LoopDevice& device);

// Size in bytes of the block device at `devicePath` (BLKGETSIZE64).
int64_t blockDeviceBytes(const std::string& devicePath);

}  // namespace polycsi::sample
