// The node-side condition of an nfs volume: what the kernel has mounted at its staging path
// (the core mounted the plugin's mount source there) and whether the mount still answers.
// THREADING: pure apart from the BoundedStat, which is thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "polycsi/bounded_stat.hpp"
#include "polycsi/types.hpp"

namespace polycsi::nfs {

// One line of /proc/self/mountinfo (Linux Documentation/filesystems/proc.rst, "3.5
// /proc/<pid>/mountinfo"): the mount point (octal escapes such as \040 undone), the filesystem
// type and the mount source.
struct MountEntry {
  std::string mountPoint;
  std::string fsType;
  std::string source;
};

// The entry mounted last at `mountPoint` in the text of a mountinfo file (the one a path
// lookup reaches), or nullopt when nothing is mounted there. Lines it cannot read are skipped.
std::optional<MountEntry> findMount(const std::string& mountinfo, const std::string& mountPoint);

// Abnormal when nothing, or no NFS filesystem, is mounted at `stagingPath`, or when a stat of it
// fails (ESTALE: the server lost what is mounted) or does not return within `timeout` (the
// server does not answer); the message names the server's path from the mount source.
VolumeCondition nfsMountCondition(const std::string& stagingPath, const std::string& mountinfo,
                                  BoundedStat& probe, std::chrono::milliseconds timeout);

}  // namespace polycsi::nfs
