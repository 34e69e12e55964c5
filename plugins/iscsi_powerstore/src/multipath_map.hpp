// The dm-multipath map of an iSCSI LUN reached through several portals.
//
// With multipath on, the node logs in to every portal of the array, so the kernel shows the LUN
// once per session, as one SCSI disk each (sdb, sdc, ...). The host's multipathd (multipath-
// tools) gathers the disks of one LUN, by their WWID, into one device-mapper map (dm-N,
// /dev/mapper/<name>) that sends I/O down every path and keeps it going when one fails. The
// node stages that map, never a path's disk.
//
// The map is found from sysfs, not from a name: each path disk's `holders/` names the dm device
// built on it, whose `dm/uuid` is "mpath-<WWID>" (multipath-tools libmultipath/devmapper.c,
// UUID_PREFIX) and whose `slaves/` are the path disks. Every path disk of the LUN must be held
// by the same map; the WWID of each disk (its device/wwid, "naa.<hex>") must be the map's.
// multipathd runs on the host: the host's `multipathd` and `multipath` are run chrooted into
// the host's root (host_iscsiadm.hpp), as iscsiadm is.
//
// THREADING: stateless apart from its options; the caller serialises calls for one LUN.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "iscsi_node.hpp"
#include "polycsi/block_device_sysfs.hpp"
#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {

struct MultipathOptions {
  std::filesystem::path hostRoot = "/";
  std::filesystem::path sysfsRoot = "/sys";
  CommandRunner runner;
  std::chrono::milliseconds commandTimeout{30000};
  // Between two looks at sysfs while waiting for a map.
  std::chrono::milliseconds pollInterval{100};
};

// A map as the kernel names it.
struct MultipathMap {
  std::string kernelName;  // dm-N
  std::string name;        // dm/name, the /dev/mapper name
  std::string wwid;        // dm/uuid without "mpath-"
};

class MultipathMaps {
 public:
  explicit MultipathMaps(MultipathOptions options);

  // FAILED_PRECONDITION naming what is missing when the host cannot multipath: the kernel's
  // dm_multipath module is not loaded, or the host has no multipathd or multipath.
  void requireSupport() const;

  // The multipath WWID of SCSI disk `disk` (sdX) from its device/wwid: "naa.<hex>" becomes
  // "3<hex>", as udev's scsi_id and multipath name it (SCSI designator type 3, NAA);
  // "eui.<hex>" becomes "2<hex>", "t10.<text>" "1<text>". FAILED_PRECONDITION when the disk has
  // none.
  std::string wwidOfDisk(const std::string& disk) const;

  // Asks multipathd to take each of `disks` (`multipathd add path /dev/sdX`) and waits until
  // one map holds them all, until `timeout`. The map's WWID must be every disk's.
  // DEADLINE_EXCEEDED naming the disks when no such map appears (is multipathd running, and
  // does its configuration blacklist these disks?); FAILED_PRECONDITION when the disks are of
  // different LUNs or held by different maps.
  MultipathMap waitForMap(const std::vector<std::string>& disks, std::chrono::milliseconds timeout,
                          const Call& call) const;

  // The map named `name`, if the kernel has it.
  std::optional<MultipathMap> findByName(const std::string& name) const;

  // Removes map `name` (`multipath -f NAME`), so no I/O is queued on it once its paths are
  // logged out. A map that is gone is success; FAILED_PRECONDITION when multipath refuses (the
  // map is still open: mounted or used).
  void flush(const std::string& name, const Call& call) const;

  // Grows the map at `devicePath` (a dm device) after the array grew the LUN: rescans the SCSI
  // disk of every path whose device/state is "running" (scsi_disk_growth.hpp; at least one
  // must be), has multipathd resize the map (`multipathd resize
  // map NAME`) and waits until it has `requiredBytes`. Returns its size. FAILED_PRECONDITION
  // when the device is not a multipath map or stays smaller (both sizes named).
  int64_t grow(const BlockDeviceSysfs& sysfs, const std::string& devicePath, int64_t requiredBytes,
               const Call& call) const;

 private:
  std::optional<MultipathMap> mapOfDir(const std::filesystem::path& dmDir) const;
  std::vector<std::string> slavesOf(const std::string& kernelName) const;
  CommandOutcome run(const std::string& program, const std::vector<std::string>& args,
                     const Call& call) const;

  MultipathOptions options_;
};

}  // namespace polycsi::iscsi_powerstore
