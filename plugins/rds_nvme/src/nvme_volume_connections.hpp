// The node side of rds_nvme: the NVMe/TCP connections that serve volumes on this node.
//
// A volume's subsystem may be reachable over several paths (addresses of the RDS, same NQN and
// port; nvme_paths.hpp). attach connects every path it is given with the same host NQN (or
// reuses a live controller connected to it already), so the kernel's native NVMe multipath
// joins them into one block device, the subsystem's head nvmeKnM, and fails I/O over between
// them; it then waits for that device. Without native multipath (nvme_core multipath=N) the
// kernel cannot fail over, so one path is connected and its namespace used.
//
// A path that cannot be connected does not fail the attach while another is live: the attach
// logs a warning naming the path and why, condition() reports the volume degraded, and the next
// attach of the volume connects the missing path. With no live path the attach fails naming
// every address tried. Each path's connect gets a share of the call's time, so a path that does
// not answer cannot use up the time of the others.
//
// detach disconnects, when the last staging path of the subsystem is gone, only the
// controllers this driver connected, every path of them; condition reports a controller that is
// not live or a device that vanished. Which controllers the driver made, which it only uses,
// and which staging paths use them is kept in a ConnectionRecord, so a connection made by
// anything else (nvme-cli, another driver, another volume manager) is never disconnected, even
// when it is to the same subsystem.
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
#include <map>
#include <string>
#include <vector>

#include "connection_record.hpp"
#include "nvme_sysfs.hpp"
#include "nvme_tcp_connector.hpp"
#include "polycsi/plugin.hpp"

namespace polycsi::rds_nvme {

// One subsystem and the addresses of its paths (validated, distinct, at least one).
struct NvmeTcpPaths {
  std::string nqn;
  std::string port;
  std::vector<std::string> addresses;

  NvmeTcpTarget path(const std::string& address) const { return {nqn, address, port}; }
};

class NvmeVolumeConnections {
 public:
  // `sysfs` and `devDir` are /sys and /dev on a node; `record` must outlive this object;
  // `connector` connects one path (connectNvmeTcp on a node).
  NvmeVolumeConnections(NvmeSysfs sysfs, std::filesystem::path devDir, ConnectionRecord& record,
                        Host host, NvmeConnector connector = connectNvmeTcp);

  // Makes volume `volumeId` (subsystem `paths`) available for `stagingPath` and returns its
  // block device ("/dev/nvme2n1"). Waits at most `deviceTimeout` (and the call's time) for the
  // device. Errors: FAILED_PRECONDITION without /dev/nvme-fabrics, when the subsystem is
  // recorded for another volume, or when every path is held by a foreign controller that is not
  // live; UNAVAILABLE when no path connects (each address and its reason named) or the device
  // does not appear; DEADLINE_EXCEEDED / CANCELLED per the call.
  std::string attach(const std::string& volumeId, const NvmeTcpPaths& paths,
                     const std::string& stagingPath, const NvmeConnectOptions& options,
                     std::chrono::seconds deviceTimeout, const Call& call);

  // Forgets `stagingPath` (every staging path of the volume when empty) and, when no staging
  // path uses the subsystem any more, disconnects the controllers this driver made for it, on
  // every path.
  void detach(const std::string& volumeId, const std::string& stagingPath, const Call& call);

  // Abnormal when the volume has no recorded connection, a path is not live (degraded: I/O
  // runs over the others) or none is, or its block device is gone; the message says what and
  // that the next stage repairs it.
  VolumeCondition condition(const std::string& volumeId) const;

  // The kernel's view this object reads (for the node's other steps, e.g. growth).
  const NvmeSysfs& sysfs() const { return sysfs_; }

 private:
  struct PrunedControllers {
    std::vector<std::string> usable;                  // live controllers, in record order
    std::map<std::string, std::string> liveByPath;    // address -> a live controller
    std::map<std::string, std::string> stuckForeign;  // address -> "name (state)", not live
  };
  // Connects the paths of `paths` that have no live controller (only one path without
  // multipath) and returns the live controllers.
  std::vector<std::string> ensureConnected(const std::string& volumeId, const NvmeTcpPaths& paths,
                                           const std::string& stagingPath,
                                           const NvmeConnectOptions& options, const Call& call);
  // Adds to `entry` the controllers to its paths that it does not record: owned when an
  // interrupted connect of ours made them (entry.connecting), foreign otherwise.
  void adoptUnrecorded(SubsystemRecord& entry, const std::vector<NvmeController>& current,
                       const std::string& volumeId) const;
  // Drops from `entry` the controllers that are gone, and deletes owned ones that are not live
  // or lost their device; keeps live and foreign ones.
  PrunedControllers prune(SubsystemRecord& entry, const std::vector<NvmeController>& current,
                          const std::string& volumeId);
  // Connects one new controller for `target` (recording the attempt first) and returns its
  // name. Throws what the connector throws when no controller to `target` appeared.
  std::string connect(SubsystemRecord& entry, const std::string& volumeId,
                      const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                      const Call& call);
  // The first namespace block device of `nqn` that exists in devDir_, or "".
  std::string presentDevice(const std::string& nqn) const;
  std::string waitForDevice(const NvmeTcpPaths& paths, const std::vector<std::string>& controllers,
                            std::chrono::seconds deviceTimeout, const Call& call) const;

  NvmeSysfs sysfs_;
  std::filesystem::path devDir_;
  ConnectionRecord& record_;
  Host host_;
  NvmeConnector connector_;
};

}  // namespace polycsi::rds_nvme
