// Generic node-side filesystem work for every plugin (docs/plugin-sdk.md, 3.6): detect, format,
// mount, bind-mount, unmount and filesystem growth, on whatever a plugin attached (a volume's
// usage, bounded, is node/volume_path_check.hpp's).
// Every operation is idempotent and safe to retry after a crash: "already mounted there" and
// "not mounted" are success. Commands run without a shell (fork/exec with an argument vector)
// and with a timeout.
// THREADING: stateless; safe to call concurrently for different paths.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "polycsi/process/command_runner.hpp"
#include "polycsi/types.hpp"

namespace polycsi::node {

struct MountInfo {
  std::string source;  // device or server:/path
  std::string target;
  std::string fsType;
  std::vector<std::string> options;
  bool readonly = false;
};

// A filesystem's usage (node/volume_path_check.hpp).
struct VolumeUsage {
  int64_t totalBytes = 0;
  int64_t availableBytes = 0;
  int64_t usedBytes = 0;
  int64_t totalInodes = 0;  // 0 for raw block
  int64_t freeInodes = 0;
  int64_t usedInodes = 0;
};

class Mounter {
 public:
  explicit Mounter(std::chrono::milliseconds commandTimeout = std::chrono::seconds(120));

  // The mount at exactly `target` (from /proc/self/mountinfo), or nullopt.
  StatusOr<std::optional<MountInfo>> findMount(const std::string& target) const;

  // Filesystem type on a block device ("" when it has none), via blkid.
  StatusOr<std::string> detectFilesystem(const std::string& device) const;

  // Formats `device` with fsType (ext4 or xfs) only when it has no filesystem; a different
  // existing filesystem is FAILED_PRECONDITION (never reformat data). Then mounts it at
  // `target` (created if missing) with `options`. Already mounted from that device: OK.
  Status formatAndMount(const std::string& device, const std::string& target,
                        const std::string& fsType, const std::vector<std::string>& options,
                        bool readonly) const;

  // Mounts a source as is: NFS ("server:/path", fsType nfs/nfs4, through mount(8)), tmpfs (the
  // source is a name, options such as size=<bytes> go to the kernel) or a block device that
  // already holds a filesystem. Already mounted from the same source: OK.
  Status mount(const std::string& source, const std::string& target, const std::string& fsType,
               const std::vector<std::string>& options, bool readonly) const;

  // Bind-mounts a directory onto a directory, or a device node onto a file (raw block);
  // creates the target (dir or empty file) if missing. Read-only remounts the bind read-only.
  Status bindMount(const std::string& source, const std::string& target, bool readonly) const;

  // Unmounts `target` if mounted (never lazily), then removes the target if `removeTarget`.
  Status unmount(const std::string& target, bool removeTarget) const;

  // Size of a block device in bytes (BLKGETSIZE64).
  StatusOr<int64_t> blockDeviceSize(const std::string& device) const;

  // Grows the filesystem mounted at `mountPath` from `device`: resize2fs for ext*, xfs_growfs
  // for xfs. Nothing to do when it already fills the device.
  Status growFilesystem(const std::string& device, const std::string& mountPath) const;

 private:
  std::chrono::milliseconds commandTimeout_;
};

// The node runs programs (mkfs, mount, resize2fs, ...) with the SDK's process runner, the
// one plugins use too: clean environment, own process group, killed at the timeout.
using process::CommandResult;
using process::runCommand;

}  // namespace polycsi::node
