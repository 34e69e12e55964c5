// The node side of rds_nvme: the NVMe/TCP connections that serve volumes on this node.
//
// attach connects the volume's subsystem (or reuses a live controller that is connected to it
// already) and waits for the namespace's block device; detach disconnects, when the last
// staging path of the subsystem is gone, only the controllers this driver connected; condition
// reports a controller that is not live or a device that vanished. Which controllers the
// driver made, which it only uses, and which staging paths use them is kept in a
// ConnectionRecord, so a connection made by anything else (nvme-cli, another driver, another
// volume manager) is never disconnected, even when it is to the same subsystem.
//
// Repair: attach replaces an owned controller that is not live (the kernel gave up after
// ctrl_loss_tmo, or it is stuck reconnecting) with a fresh connection.
//
// THREADING: calls for different volumes may run concurrently (the record locks itself); never
// two calls for the same volume at once (the core's volume lock).
// IDEMPOTENCY: attach of a connected volume returns the same device; detach of a detached
// volume is success.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "connection_record.hpp"
#include "nvme_sysfs.hpp"
#include "nvme_tcp_connector.hpp"
#include "polycsi/plugin.hpp"

namespace polycsi::rds_nvme {

class NvmeVolumeConnections {
 public:
  // `sysfs` and `devDir` are /sys and /dev on a node; `record` must outlive this object.
  NvmeVolumeConnections(NvmeSysfs sysfs, std::filesystem::path devDir, ConnectionRecord& record,
                        Host host);

  // Makes volume `volumeId` (subsystem `target`) available for `stagingPath` and returns its
  // block device ("/dev/nvme2n1"). Waits at most `deviceTimeout` (and the call's time) for the
  // device. Errors: FAILED_PRECONDITION without /dev/nvme-fabrics or when the subsystem is
  // recorded for another volume or a foreign controller to it is not live; UNAVAILABLE when the
  // connect fails or the device does not appear; DEADLINE_EXCEEDED / CANCELLED per the call.
  std::string attach(const std::string& volumeId, const NvmeTcpTarget& target,
                     const std::string& stagingPath, const NvmeConnectOptions& options,
                     std::chrono::seconds deviceTimeout, const Call& call);

  // Forgets `stagingPath` (every staging path of the volume when empty) and, when no staging
  // path uses the subsystem any more, disconnects the controllers this driver made for it.
  void detach(const std::string& volumeId, const std::string& stagingPath, const Call& call);

  // Abnormal when the volume has no recorded connection, none of its controllers is live, or
  // its block device is gone; the message says what and that the next stage repairs it.
  VolumeCondition condition(const std::string& volumeId) const;

  // The kernel's view this object reads (for the node's other steps, e.g. growth).
  const NvmeSysfs& sysfs() const { return sysfs_; }

 private:
  // Returns the name of a live controller for `target`, connecting one when needed.
  std::string ensureConnected(const std::string& volumeId, const NvmeTcpTarget& target,
                              const std::string& stagingPath, const NvmeConnectOptions& options,
                              const Call& call);
  // Adds to `entry` the controllers to `target` that it does not record: owned when an
  // interrupted connect of ours made them (entry.connecting), foreign otherwise.
  void adoptUnrecorded(SubsystemRecord& entry, const std::vector<NvmeController>& current,
                       const std::string& volumeId, const NvmeTcpTarget& target) const;
  struct PrunedControllers {
    std::string usable;                     // a live controller to use, or ""
    std::vector<std::string> stuckForeign;  // "name (state)" of foreign controllers not live
  };
  // Drops from `entry` the controllers that are gone, and deletes owned ones that are not live
  // or lost their device; keeps live and foreign ones.
  PrunedControllers prune(SubsystemRecord& entry, const std::vector<NvmeController>& current,
                          const std::string& volumeId, const NvmeTcpTarget& target);
  // Connects a new controller for `target` (recording the attempt first) and returns its name.
  std::string connect(SubsystemRecord& entry, const std::vector<NvmeController>& current,
                      const std::string& volumeId, const NvmeTcpTarget& target,
                      const std::string& stagingPath, const NvmeConnectOptions& options,
                      const Call& call);
  // The first namespace block device of `nqn` that exists in devDir_, or "".
  std::string presentDevice(const std::string& nqn) const;
  std::string waitForDevice(const NvmeTcpTarget& target, const std::string& controller,
                            std::chrono::seconds deviceTimeout, const Call& call) const;

  NvmeSysfs sysfs_;
  std::filesystem::path devDir_;
  ConnectionRecord& record_;
  Host host_;
};

}  // namespace polycsi::rds_nvme
