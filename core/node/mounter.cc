// Mounter: finding mounts, formatting and mounting block devices, NFS and tmpfs mounts and
// unmounting.
// Bind mounts live in bind_mount.cc, filesystem tools in filesystem.cc.
#include "node/mounter.hpp"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "node/errno_status.hpp"
#include "node/filesystem_tools.hpp"
#include "node/input_validation.hpp"
#include "node/kernel_mount_options.hpp"
#include "node/mount_option_list.hpp"
#include "node/mount_table.hpp"
#include "node/mount_targets.hpp"

namespace polycsi::node {
namespace {

// More mounts than this stacked on one target means something keeps mounting there.
constexpr int kMaxStackedUnmounts = 16;

MountInfo toMountInfo(const MountTableEntry& entry) {
  MountInfo info;
  info.source = entry.source;
  info.target = entry.mountPoint;
  info.fsType = entry.fsType;
  info.options = entry.mountOptions;
  for (const std::string& option : entry.superOptions) {
    if (option != "rw" && option != "ro") info.options.push_back(option);
  }
  info.readonly = isReadOnly(entry);
  return info;
}

StatusOr<std::optional<MountTableEntry>> mountAt(const std::string& target) {
  StatusOr<std::vector<MountTableEntry>> table = readMountTable();
  if (!table.isOk()) return table.status();
  const MountTableEntry* entry = findTopmostMount(*table, normalizePath(target));
  if (entry == nullptr) return std::optional<MountTableEntry>();
  return std::optional<MountTableEntry>(*entry);
}

std::string describeMount(const MountTableEntry& entry) {
  std::string text = entry.source + " (" + entry.fsType;
  if (entry.root != "/") text += ", subdirectory " + entry.root;
  return text + ")";
}

// The outcome for a target that already holds the wanted filesystem: OK when its read-only
// state is the one asked for.
Status alreadyMounted(const MountTableEntry& entry, const std::string& wanted, bool readonly) {
  if (isReadOnly(entry) == readonly) return Status::ok();
  return Status(Code::kAlreadyExists, entry.mountPoint + " already has " + wanted + " mounted " +
                                          (isReadOnly(entry) ? "read-only" : "read-write") +
                                          ", but " + (readonly ? "read-only" : "read-write") +
                                          " was asked for");
}

Status mountSyscall(const std::string& source, const std::string& target, const std::string& fsType,
                    const KernelMountArguments& arguments) {
  if (::mount(source.c_str(), target.c_str(), fsType.c_str(), arguments.flags,
              arguments.data.empty() ? nullptr : arguments.data.c_str()) == 0) {
    return Status::ok();
  }
  int err = errno;
  std::string what = "mount " + source + " on " + target + " as " + fsType;
  if (!arguments.data.empty()) what += " with options " + arguments.data;
  if (err == EINVAL) {
    return Status(Code::kInvalidArgument,
                  what +
                      " was refused (EINVAL): wrong filesystem type, bad superblock or an "
                      "option the filesystem does not know; the kernel log says which");
  }
  return statusFromErrno(err, what);
}

// Whether two "host:/path" sources name the same export (the path compared normalized).
bool sameNfsExport(const std::string& a, const std::string& b) {
  size_t splitA = a.find(":/");
  size_t splitB = b.find(":/");
  if (splitA == std::string::npos || splitB == std::string::npos) return false;
  return a.compare(0, splitA, b, 0, splitB) == 0 &&
         normalizePath(a.substr(splitA + 1)) == normalizePath(b.substr(splitB + 1));
}

// mount(8) hands NFS to /sbin/mount.nfs (nfs-common); without it the mount cannot work.
Status requireNfsHelper(const std::string& fsType) {
  const std::string helper = "/sbin/mount." + fsType;
  if (::access(helper.c_str(), X_OK) == 0) return Status::ok();
  return Status(Code::kFailedPrecondition,
                "cannot mount " + fsType + ": " + helper +
                    " is missing on this node (install the nfs-common package)");
}

}  // namespace

Mounter::Mounter(std::chrono::milliseconds commandTimeout) : commandTimeout_(commandTimeout) {}

StatusOr<std::optional<MountInfo>> Mounter::findMount(const std::string& target) const {
  if (Status status = validateAbsolutePath("target", target); !status.isOk()) return status;
  StatusOr<std::optional<MountTableEntry>> entry = mountAt(target);
  if (!entry.isOk()) return entry.status();
  if (!entry->has_value()) return std::optional<MountInfo>();
  return std::optional<MountInfo>(toMountInfo(**entry));
}

Status Mounter::formatAndMount(const std::string& device, const std::string& target,
                               const std::string& fsType, const std::vector<std::string>& options,
                               bool readonly) const {
  if (Status status = validateDevicePath(device); !status.isOk()) return status;
  if (Status status = validateAbsolutePath("target", target); !status.isOk()) return status;
  if (Status status = validateFormatFilesystemType(fsType); !status.isOk()) return status;
  if (Status status = validateMountOptions(options); !status.isOk()) return status;
  StatusOr<KernelMountArguments> arguments = toKernelMountArguments(options, readonly);
  if (!arguments.isOk()) return arguments.status();
  const bool effectiveReadonly = (arguments->flags & MS_RDONLY) != 0;
  StatusOr<dev_t> deviceNumber = blockDeviceNumber(device);
  if (!deviceNumber.isOk()) return deviceNumber.status();

  StatusOr<std::optional<MountTableEntry>> existing = mountAt(target);
  if (!existing.isOk()) return existing.status();
  if (existing->has_value()) {
    const MountTableEntry& entry = **existing;
    // The device number identifies the filesystem whatever name (symlink, by-id) was used.
    if (makedev(entry.major, entry.minor) == *deviceNumber && entry.root == "/") {
      return alreadyMounted(entry, device, effectiveReadonly);
    }
    return Status(Code::kFailedPrecondition, "cannot mount " + device + " at " + target +
                                                 ": it already has " + describeMount(entry) +
                                                 " mounted");
  }

  StatusOr<BlockDeviceSignature> signature = probeBlockDevice(device, commandTimeout_);
  if (!signature.isOk()) return signature.status();
  if (signature->filesystemType.empty()) {
    if (!signature->partitionTableType.empty()) {
      return Status(Code::kFailedPrecondition,
                    "device " + device + " holds a " + signature->partitionTableType +
                        " partition table and no filesystem; refusing to format it");
    }
    if (effectiveReadonly) {
      return Status(Code::kFailedPrecondition,
                    "device " + device +
                        " has no filesystem and cannot be formatted because a "
                        "read-only mount was asked for");
    }
    if (Status status = makeFilesystem(device, fsType, commandTimeout_); !status.isOk()) {
      return status;
    }
  } else if (signature->filesystemType != fsType) {
    return Status(Code::kFailedPrecondition,
                  "device " + device + " already holds a " + signature->filesystemType +
                      " filesystem but " + fsType +
                      " was asked for; refusing to reformat existing data");
  }

  if (Status status = ensureDirectoryTarget(target); !status.isOk()) return status;
  return mountSyscall(device, target, fsType, *arguments);
}

Status Mounter::mount(const std::string& source, const std::string& target,
                      const std::string& fsType, const std::vector<std::string>& options,
                      bool readonly) const {
  if (Status status = validateMountFilesystemType(fsType); !status.isOk()) return status;
  if (Status status = validateAbsolutePath("target", target); !status.isOk()) return status;
  if (Status status = validateMountOptions(options); !status.isOk()) return status;
  // Also refuses bind/remount/helper=... for NFS, where mount(8) would act on them.
  StatusOr<KernelMountArguments> arguments = toKernelMountArguments(options, readonly);
  if (!arguments.isOk()) return arguments.status();
  const bool effectiveReadonly = (arguments->flags & MS_RDONLY) != 0;
  const bool nfs = isNfsType(fsType);
  const bool tmpfs = isTmpfsType(fsType);
  dev_t deviceNumber = 0;
  if (nfs) {
    if (Status status = validateNfsSource(source); !status.isOk()) return status;
  } else if (tmpfs) {
    if (Status status = validateTmpfsSource(source); !status.isOk()) return status;
  } else {
    if (Status status = validateDevicePath(source); !status.isOk()) return status;
    StatusOr<dev_t> number = blockDeviceNumber(source);
    if (!number.isOk()) return number.status();
    deviceNumber = *number;
  }

  StatusOr<std::optional<MountTableEntry>> existing = mountAt(target);
  if (!existing.isOk()) return existing.status();
  if (existing->has_value()) {
    const MountTableEntry& entry = **existing;
    // A tmpfs has no device to compare: its name in the mount table identifies it.
    const bool same =
        nfs     ? (isNfsType(entry.fsType) && sameNfsExport(entry.source, source))
        : tmpfs ? (isTmpfsType(entry.fsType) && entry.source == source)
                : (makedev(entry.major, entry.minor) == deviceNumber && entry.root == "/");
    if (same) return alreadyMounted(entry, source, effectiveReadonly);
    return Status(Code::kFailedPrecondition, "cannot mount " + source + " at " + target +
                                                 ": it already has " + describeMount(entry) +
                                                 " mounted");
  }

  if (Status status = ensureDirectoryTarget(target); !status.isOk()) return status;
  if (!nfs) return mountSyscall(source, target, fsType, *arguments);

  if (Status status = requireNfsHelper(fsType); !status.isOk()) return status;
  std::vector<std::string> argv = {"mount", "-t", fsType};
  const std::string joined = joinMountOptions(withNfsSelinuxSharing(options), readonly);
  if (!joined.empty()) argv.insert(argv.end(), {"-o", joined});
  argv.insert(argv.end(), {source, target});
  StatusOr<CommandResult> result = runCommand(argv, commandTimeout_);
  if (!result.isOk()) return result.status();
  if (result->exitCode != 0) {
    return Status(Code::kInternal, "mount " + source + " on " + target + " (" + fsType +
                                       ") failed with exit code " +
                                       std::to_string(result->exitCode) + ": " + result->output);
  }
  return Status::ok();
}

Status Mounter::unmount(const std::string& target, bool removeTarget) const {
  if (Status status = validateAbsolutePath("target", target); !status.isOk()) return status;
  // umount2 itself tells "not a mount point" (EINVAL) and "gone" (ENOENT); asking it directly
  // also works for paths whose mountinfo spelling differs (symlinks) and for dead NFS servers.
  int unmounted = 0;
  while (true) {
    if (::umount2(target.c_str(), 0) != 0) {
      int err = errno;
      if (err == EINVAL || err == ENOENT) break;
      if (err == EBUSY) {
        return Status(Code::kFailedPrecondition,
                      "cannot unmount " + target +
                          ": it is busy (a process has files open or its working directory "
                          "there, or something is mounted below it)");
      }
      return statusFromErrno(err, "cannot unmount " + target);
    }
    if (++unmounted >= kMaxStackedUnmounts) {
      return Status(Code::kInternal, "cannot unmount " + target + ": still mounted after " +
                                         std::to_string(unmounted) + " unmounts");
    }
  }
  if (!removeTarget) return Status::ok();

  struct stat info {};
  if (::lstat(target.c_str(), &info) != 0) {
    if (errno == ENOENT) return Status::ok();
    return statusFromErrno(errno, "cannot stat " + target + " after unmounting it");
  }
  if (S_ISDIR(info.st_mode)) {
    if (::rmdir(target.c_str()) == 0 || errno == ENOENT) return Status::ok();
    if (errno == ENOTEMPTY || errno == EEXIST) {
      return Status(Code::kFailedPrecondition,
                    "unmounted " + target +
                        " but did not remove it: the directory is not "
                        "empty, so it holds data that was never mounted");
    }
    return statusFromErrno(errno, "unmounted " + target + " but cannot remove it");
  }
  if (S_ISREG(info.st_mode)) {
    if (info.st_size != 0) {
      return Status(Code::kFailedPrecondition,
                    "unmounted " + target + " but did not remove it: the file is not empty");
    }
    if (::unlink(target.c_str()) == 0 || errno == ENOENT) return Status::ok();
    return statusFromErrno(errno, "unmounted " + target + " but cannot remove it");
  }
  return Status(Code::kFailedPrecondition,
                "unmounted " + target +
                    " but did not remove it: it is neither a directory nor a regular file");
}

}  // namespace polycsi::node
