// Mounter::bindMount: a directory onto a directory (filesystem volumes) or a device node onto
// an empty file (raw block volumes), optionally made read-only.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <array>
#include <cerrno>
#include <utility>

#include "node/errno_status.hpp"
#include "node/input_validation.hpp"
#include "node/mount_table.hpp"
#include "node/mount_targets.hpp"
#include "node/mounter.hpp"

namespace polycsi::node {
namespace {

// Whether what is visible at a mounted `target` is `source` itself. A device node bound onto
// a file shows up in mountinfo as devtmpfs/udev, so a raw block bind is recognized by the
// device number of the node now visible at the target; a directory bind by the identity
// (device and inode) of the directory now visible there, which is what mountinfo's
// major:minor plus root describe, without having to resolve the source's own mount.
StatusOr<bool> targetShowsSource(const struct stat& source, const std::string& target) {
  struct stat visible {};
  if (::stat(target.c_str(), &visible) != 0) {
    return statusFromErrno(errno, "cannot stat mounted target " + target);
  }
  if (S_ISBLK(source.st_mode)) return S_ISBLK(visible.st_mode) && visible.st_rdev == source.st_rdev;
  return S_ISDIR(visible.st_mode) && visible.st_dev == source.st_dev &&
         visible.st_ino == source.st_ino;
}

// MS_REMOUNT|MS_BIND replaces every per-mount flag, so the ones the bind already has (nosuid,
// nodev, ... inherited from the source mount, possibly locked) are kept and MS_RDONLY added.
Status remountReadOnly(const std::string& target) {
  struct statvfs info {};
  if (::statvfs(target.c_str(), &info) != 0) {
    return statusFromErrno(errno, "cannot read mount flags of " + target);
  }
  constexpr std::array<std::pair<unsigned long, unsigned long>, 6> kKeptFlags = {{
      {ST_NOSUID, MS_NOSUID},
      {ST_NODEV, MS_NODEV},
      {ST_NOEXEC, MS_NOEXEC},
      {ST_NOATIME, MS_NOATIME},
      {ST_NODIRATIME, MS_NODIRATIME},
      {ST_RELATIME, MS_RELATIME},
  }};
  unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY;
  for (const auto& [statFlag, mountFlag] : kKeptFlags) {
    if (info.f_flag & statFlag) flags |= mountFlag;
  }
  if (::mount(nullptr, target.c_str(), nullptr, flags, nullptr) != 0) {
    return statusFromErrno(errno, "cannot make the bind mount at " + target + " read-only");
  }
  return Status::ok();
}

}  // namespace

Status Mounter::bindMount(const std::string& source, const std::string& target,
                          bool readonly) const {
  if (Status status = validateAbsolutePath("source", source); !status.isOk()) return status;
  if (Status status = validateAbsolutePath("target", target); !status.isOk()) return status;
  struct stat sourceInfo {};
  if (::stat(source.c_str(), &sourceInfo) != 0) {
    return statusFromErrno(errno, "cannot bind-mount " + source);
  }
  const bool block = S_ISBLK(sourceInfo.st_mode);
  if (!block && !S_ISDIR(sourceInfo.st_mode)) {
    return Status(Code::kInvalidArgument,
                  "cannot bind-mount " + source + ": it is neither a directory nor a block device");
  }

  StatusOr<std::vector<MountTableEntry>> table = readMountTable();
  if (!table.isOk()) return table.status();
  if (const MountTableEntry* entry = findTopmostMount(*table, normalizePath(target))) {
    StatusOr<bool> same = targetShowsSource(sourceInfo, target);
    if (!same.isOk()) return same.status();
    if (!*same) {
      return Status(Code::kFailedPrecondition,
                    "cannot bind-mount " + source + " at " + target + ": it already has " +
                        entry->source + " (" + entry->fsType + ", " + entry->root + ") mounted");
    }
    if (isReadOnly(*entry) == readonly) return Status::ok();
    // A retry after a crash between the bind and the read-only remount finishes the job; a
    // read-only bind is never silently made writable.
    if (readonly) return remountReadOnly(target);
    return Status(Code::kAlreadyExists, target + " already has " + source +
                                            " bind-mounted read-only, but read-write was asked");
  }

  Status created = block ? ensureEmptyFileTarget(target) : ensureDirectoryTarget(target);
  if (!created.isOk()) return created;
  if (::mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return statusFromErrno(errno, "cannot bind-mount " + source + " at " + target);
  }
  if (!readonly) return Status::ok();
  Status status = remountReadOnly(target);
  if (!status.isOk()) {
    // Never leave a writable bind where a read-only one was asked for.
    if (::umount2(target.c_str(), 0) != 0) {
      return Status(status.code(), status.message() + "; the writable bind mount is still at " +
                                       target + " and could not be undone");
    }
  }
  return status;
}

}  // namespace polycsi::node
