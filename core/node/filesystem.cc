// The filesystem side of Mounter: detection, formatting and growth.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string_view>

#include "node/errno_status.hpp"
#include "node/filesystem_tools.hpp"
#include "node/input_validation.hpp"
#include "node/mount_table.hpp"
#include "node/mounter.hpp"

namespace polycsi::node {
namespace {

std::string trimmed(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

Status commandFailed(const std::vector<std::string>& argv, const CommandResult& result) {
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  return Status(Code::kInternal, "'" + command + "' failed with exit code " +
                                     std::to_string(result.exitCode) + ": " +
                                     trimmed(result.output));
}

bool isExtFamily(const std::string& fsType) {
  return fsType == "ext2" || fsType == "ext3" || fsType == "ext4";
}

}  // namespace

bool hasEffectiveCapability(int capability) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    try {
      unsigned long long mask = std::stoull(line.substr(7), nullptr, 16);
      return capability >= 0 && capability < 64 && ((mask >> capability) & 1ULL) != 0;
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

StatusOr<dev_t> blockDeviceNumber(const std::string& device) {
  struct stat info {};
  if (::stat(device.c_str(), &info) != 0) {
    return statusFromErrno(errno, "cannot stat device " + device);
  }
  if (!S_ISBLK(info.st_mode)) {
    return Status(Code::kInvalidArgument, device + " is not a block device");
  }
  return info.st_rdev;
}

StatusOr<BlockDeviceSignature> probeBlockDevice(const std::string& device,
                                                std::chrono::milliseconds timeout) {
  if (StatusOr<dev_t> number = blockDeviceNumber(device); !number.isOk()) return number.status();
  const std::vector<std::string> argv = {"blkid", "-p", "-o", "export", device};
  StatusOr<CommandResult> result = runCommand(argv, timeout);
  if (!result.isOk()) return result.status();
  if (result->exitCode == kBlkidNothingFound) return BlockDeviceSignature{};
  if (result->exitCode == kBlkidAmbivalent) {
    return Status(Code::kFailedPrecondition,
                  "device " + device +
                      " carries conflicting signatures (blkid: ambivalent result); refusing to "
                      "treat it as blank or to guess its filesystem: " +
                      trimmed(result->output));
  }
  if (result->exitCode != 0) return commandFailed(argv, *result);
  return parseBlkidExport(result->output);
}

BlockDeviceSignature parseBlkidExport(const std::string& text) {
  BlockDeviceSignature signature;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.substr(0, 5) == "TYPE=") signature.filesystemType = trimmed(line.substr(5));
    if (line.substr(0, 7) == "PTTYPE=") signature.partitionTableType = trimmed(line.substr(7));
  }
  return signature;
}

Status makeFilesystem(const std::string& device, const std::string& fsType,
                      std::chrono::milliseconds timeout) {
  if (Status status = validateFormatFilesystemType(fsType); !status.isOk()) return status;
  std::vector<std::string> argv;
  if (isExtFamily(fsType)) {
    argv = {"mkfs." + fsType, "-F", "-q", device};
  } else {
    argv = {"mkfs.xfs", "-q", device};
  }
  StatusOr<CommandResult> result = runCommand(argv, timeout);
  if (!result.isOk()) return result.status();
  if (result->exitCode != 0) return commandFailed(argv, *result);
  return Status::ok();
}

StatusOr<std::string> Mounter::detectFilesystem(const std::string& device) const {
  if (Status status = validateDevicePath(device); !status.isOk()) return status;
  StatusOr<BlockDeviceSignature> signature = probeBlockDevice(device, commandTimeout_);
  if (!signature.isOk()) return signature.status();
  if (signature->filesystemType.empty() && !signature->partitionTableType.empty()) {
    // "" means "safe to format" to callers; a partitioned disk is not blank.
    return Status(Code::kFailedPrecondition,
                  "device " + device + " holds a " + signature->partitionTableType +
                      " partition table and no filesystem; refusing to treat it as blank");
  }
  return signature->filesystemType;
}

Status Mounter::growFilesystem(const std::string& device, const std::string& mountPath) const {
  if (Status status = validateDevicePath(device); !status.isOk()) return status;
  if (Status status = validateAbsolutePath("mount", mountPath); !status.isOk()) return status;
  StatusOr<dev_t> number = blockDeviceNumber(device);
  if (!number.isOk()) return number.status();
  StatusOr<std::vector<MountTableEntry>> table = readMountTable();
  if (!table.isOk()) return table.status();
  const MountTableEntry* entry = findTopmostMount(*table, normalizePath(mountPath));
  if (entry == nullptr) {
    return Status(Code::kFailedPrecondition, "cannot grow the filesystem of " + device +
                                                 ": nothing is mounted at " + mountPath);
  }
  if (makedev(entry->major, entry->minor) != *number) {
    return Status(Code::kFailedPrecondition, "cannot grow the filesystem of " + device + ": " +
                                                 mountPath + " is mounted from " + entry->source +
                                                 ", not from " + device);
  }
  std::vector<std::string> argv;
  if (isExtFamily(entry->fsType)) {
    argv = {"resize2fs", device};
  } else if (entry->fsType == "xfs") {
    argv = {"xfs_growfs", "-d", normalizePath(mountPath)};
  } else {
    return Status(Code::kUnimplemented, "cannot grow a " + entry->fsType + " filesystem (at " +
                                            mountPath + "): only ext2/3/4 and xfs");
  }
  StatusOr<CommandResult> result = runCommand(argv, commandTimeout_);
  if (!result.isOk()) return result.status();
  if (result->exitCode != 0) {
    if (isExtFamily(entry->fsType) && !hasEffectiveCapability(CAP_SYS_RESOURCE)) {
      // The kernel refuses online ext4 resizing (EXT4_IOC_RESIZE_FS) without this capability,
      // and resize2fs only says "Permission denied".
      return Status(Code::kPermissionDenied,
                    "cannot grow the " + entry->fsType + " filesystem mounted at " + mountPath +
                        ": online resizing needs CAP_SYS_RESOURCE, which the driver process "
                        "lacks (run the node plugin privileged); resize2fs said: " +
                        trimmed(result->output));
    }
    return commandFailed(argv, *result);
  }
  return Status::ok();
}

StatusOr<int64_t> Mounter::blockDeviceSize(const std::string& device) const {
  if (Status status = validateDevicePath(device); !status.isOk()) return status;
  int fd = ::open(device.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return statusFromErrno(errno, "cannot open device " + device);
  struct stat info {};
  uint64_t size = 0;
  Status status = Status::ok();
  if (::fstat(fd, &info) != 0) {
    status = statusFromErrno(errno, "cannot stat device " + device);
  } else if (!S_ISBLK(info.st_mode)) {
    status = Status(Code::kInvalidArgument, device + " is not a block device");
  } else if (::ioctl(fd, BLKGETSIZE64, &size) != 0) {
    status = statusFromErrno(errno, "cannot read the size of " + device + " (BLKGETSIZE64)");
  }
  ::close(fd);
  if (!status.isOk()) return status;
  return static_cast<int64_t>(size);
}

}  // namespace polycsi::node
