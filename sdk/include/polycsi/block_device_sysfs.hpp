// The kernel's view of block devices, read from sysfs: for a node side that must make the
// kernel see a volume the storage system has grown (a SCSI rescan, an NVMe namespace rescan)
// and then wait until the device has the size asked for. Header only, so a plugin needs nothing
// but the SDK.
//
// The layout this reads (under a root that is /sys on a node and a temporary tree in tests):
//   class/block/NAME/size     the device's size in 512-byte sectors, whatever its block size
//                             (the kernel's unit for this file, include/linux/blkdev.h)
// THREADING: stateless apart from the root and the pause; safe from several threads.
// IDEMPOTENCY: every member only reads, apart from writeSysfsTrigger.
#pragma once

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "polycsi/types.hpp"

namespace polycsi {

// Writes "1" to a sysfs trigger attribute (a SCSI disk's device/rescan, an NVMe controller's
// rescan_controller). The kernel acts within the write, so a failed write is the trigger's own
// failure: INTERNAL naming the file and the reason.
inline void writeSysfsTrigger(const std::filesystem::path& attribute) {
  std::ofstream out(attribute);
  out << "1\n";
  out.flush();
  if (!out)
    throw Error(Code::kInternal,
                "cannot write " + attribute.string() + ": " + std::strerror(errno));
}

class BlockDeviceSysfs {
 public:
  // `root` is the sysfs mount point ("/sys" on a node). `pause` runs between two looks at a
  // device's size in waitForBytes (default: 100 ms of sleep); tests pass their own to grow
  // the device or count the looks.
  explicit BlockDeviceSysfs(std::filesystem::path root = "/sys",
                            std::function<void()> pause = sleepBetweenLooks)
      : root_(std::move(root)), pause_(std::move(pause)) {}

  const std::filesystem::path& root() const { return root_; }

  // The kernel's name of the block device at `devicePath` ("sdb" for
  // /dev/disk/by-path/ip-…-lun-0, a symbolic link to ../../sdb): the last component of the
  // path with every link resolved. NOT_FOUND when the path does not exist, or when the kernel
  // has no block device of that name.
  std::string kernelName(const std::string& devicePath) const {
    std::error_code error;
    auto resolved = std::filesystem::canonical(devicePath, error);
    if (error)
      throw Error(Code::kNotFound,
                  "device " + devicePath + " does not exist on this node: " + error.message());
    std::string name = resolved.filename().string();
    if (!std::filesystem::exists(deviceDir(name)))
      throw Error(Code::kNotFound, "device " + devicePath + " (" + name +
                                       ") is not a block device the kernel lists in " +
                                       (root_ / "class/block").string());
    return name;
  }

  // class/block/NAME: the device's directory (a link into the device tree).
  std::filesystem::path deviceDir(const std::string& name) const {
    return root_ / "class/block" / name;
  }

  // The size of block device `name` in bytes as the kernel sees it now. INTERNAL when the
  // size cannot be read.
  int64_t bytes(const std::string& name) const {
    const auto file = deviceDir(name) / "size";
    std::ifstream in(file);
    long long sectors = -1;
    if (!(in >> sectors) || sectors < 0)
      throw Error(Code::kInternal, "cannot read the size of " + name + " from " + file.string());
    return static_cast<int64_t>(sectors) * 512;
  }

  // Looks at the size of `name` until it holds at least `requiredBytes` (a requiredBytes of 0
  // or less is met at once), at most `looks` times with the pause between two looks, and
  // returns the size it saw last. A rescan the kernel runs in the background (NVMe) needs a few
  // looks; one the kernel runs within its trigger (SCSI) needs one. FAILED_PRECONDITION naming
  // both sizes when the device never gets there; the call's deadline and cancellation are
  // checked before every look.
  int64_t waitForBytes(const std::string& name, int64_t requiredBytes, const Call& call,
                       int looks) const {
    int64_t seen = 0;
    for (int look = 0; look < looks; ++look) {
      if (look > 0) pause_();
      call.checkpoint("waiting for " + name + " to grow");
      seen = bytes(name);
      if (seen >= requiredBytes) return seen;
    }
    throw Error(Code::kFailedPrecondition,
                "the kernel still sees " + name + " with " + std::to_string(seen) +
                    " bytes after the rescan, fewer than the " + std::to_string(requiredBytes) +
                    " requested: the storage system has not grown the volume, or this node "
                    "has not seen it yet (kubelet retries)");
  }

 private:
  static void sleepBetweenLooks() { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

  std::filesystem::path root_;
  std::function<void()> pause_;
};

}  // namespace polycsi
