#include "nvme_volume_connections.hpp"

#include <algorithm>
#include <set>
#include <thread>

namespace polycsi::rds_nvme {
namespace {

constexpr std::chrono::milliseconds kDevicePollInterval{100};

std::string describe(const NvmeTcpTarget& target) {
  return target.nqn + " at " + target.address + ":" + target.port;
}

// "nqn at 10.0.0.1:4420, 10.0.1.1:4420".
std::string describe(const NvmeTcpPaths& paths) {
  std::string at;
  for (const auto& a : paths.addresses) at += (at.empty() ? "" : ", ") + a + ":" + paths.port;
  return paths.nqn + " at " + at;
}

std::string joined(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : separator) + i;
  return out;
}

const NvmeController* findController(const std::vector<NvmeController>& all,
                                     const std::string& name) {
  for (const auto& c : all)
    if (c.name == name) return &c;
  return nullptr;
}

bool recorded(const SubsystemRecord& entry, const std::string& name) {
  return std::any_of(entry.controllers.begin(), entry.controllers.end(),
                     [&](const RecordedController& c) { return c.name == name; });
}

bool listed(const std::vector<std::string>& addresses, const std::string& address) {
  return std::find(addresses.begin(), addresses.end(), address) != addresses.end();
}

NvmeTcpPaths pathsOf(const SubsystemRecord& entry) {
  return NvmeTcpPaths{entry.nqn, entry.port, entry.addresses};
}

// `call` limited to `share` of what is left of it: a path's connect may not use up the time of
// the paths after it.
Call slice(const Call& call, size_t shares) {
  Call part = call;
  part.start = std::chrono::steady_clock::now();
  part.timeout = call.remaining() / static_cast<int64_t>(std::max<size_t>(shares, 1));
  return part;
}

}  // namespace

NvmeVolumeConnections::NvmeVolumeConnections(NvmeSysfs sysfs, std::filesystem::path devDir,
                                             ConnectionRecord& record, Host host,
                                             NvmeConnector connector)
    : sysfs_(std::move(sysfs)),
      devDir_(std::move(devDir)),
      record_(record),
      host_(host),
      connector_(std::move(connector)) {}

std::string NvmeVolumeConnections::attach(const std::string& volumeId, const NvmeTcpPaths& paths,
                                          const std::string& stagingPath,
                                          const NvmeConnectOptions& options,
                                          std::chrono::seconds deviceTimeout, const Call& call) {
  std::vector<std::string> controllers =
      ensureConnected(volumeId, paths, stagingPath, options, call);
  return waitForDevice(paths, controllers, deviceTimeout, call);
}

std::vector<std::string> NvmeVolumeConnections::ensureConnected(const std::string& volumeId,
                                                                const NvmeTcpPaths& paths,
                                                                const std::string& stagingPath,
                                                                const NvmeConnectOptions& options,
                                                                const Call& call) {
  SubsystemRecord entry = record_.find(paths.nqn).value_or(
      SubsystemRecord{paths.nqn, volumeId, paths.addresses, paths.port, {}, {}});
  if (entry.volumeId != volumeId)
    throw Error(Code::kFailedPrecondition, "subsystem " + paths.nqn +
                                               " is recorded on this node for volume " +
                                               entry.volumeId + ", not " + volumeId +
                                               "; two volumes cannot share one NVMe subsystem");
  entry.addresses = paths.addresses;
  entry.port = paths.port;

  const std::vector<NvmeController> current = sysfs_.controllers();
  adoptUnrecorded(entry, current, volumeId);
  PrunedControllers pruned = prune(entry, current, volumeId);
  entry.connecting = false;  // what an interrupted connect left is adopted now
  const bool multipath = sysfs_.multipathEnabled();
  std::vector<std::string> missing;
  for (const auto& a : paths.addresses)
    if (!pruned.liveByPath.count(a)) missing.push_back(a);
  // Without native multipath a second path is a second block device nothing fails over to.
  if (!multipath && !pruned.usable.empty()) missing.clear();
  if (!multipath && paths.addresses.size() > 1)
    host_.info("volume " + volumeId +
               ": native NVMe multipath is off on this node (nvme_core "
               "multipath=N), so one path of " +
               describe(paths) + " is used");

  const bool newStagingPath = entry.stagingPaths.insert(stagingPath).second;
  bool pending = false;  // a connect outlived its share of time: the kernel may still finish it
  std::vector<std::string> failures;  // "address: why"
  bool onlyForeign = true;            // every failure a foreign controller that is not live
  for (size_t i = 0; i < missing.size(); ++i) {
    const std::string& address = missing[i];
    if (auto stuck = pruned.stuckForeign.find(address); stuck != pruned.stuckForeign.end()) {
      failures.push_back(address + ": the NVMe controller " + stuck->second + " for " +
                         describe(paths.path(address)) +
                         " was not connected by this driver and is not live; the kernel refuses "
                         "a second connection to the same target. Wait for it to reconnect or "
                         "remove it (nvme disconnect -d <name>)");
      continue;
    }
    onlyForeign = false;
    // The paths left share the time; once a path is live, some stays for the device wait.
    const size_t shares = missing.size() - i + (pruned.usable.empty() ? 0 : 1);
    try {
      std::string name =
          connect(entry, volumeId, paths.path(address), options, slice(call, shares));
      pruned.usable.push_back(name);
      pruned.liveByPath[address] = name;
    } catch (const Error& e) {
      // The node cannot connect at all (no /dev/nvme-fabrics), or the whole call ended.
      const bool callEnded = call.remaining().count() == 0 || call.isCancelled();
      if (e.code() == Code::kFailedPrecondition || callEnded) {
        // A connect the kernel may still finish keeps the staging path that asked for it.
        if (pruned.usable.empty() && !entry.connecting && newStagingPath)
          entry.stagingPaths.erase(stagingPath);
        if (entry.stagingPaths.empty() && entry.controllers.empty() && !entry.connecting)
          record_.erase(entry.nqn);
        else
          record_.put(entry);
        throw;
      }
      if (e.code() == Code::kDeadlineExceeded || e.code() == Code::kCancelled) pending = true;
      failures.push_back(address + ": " + e.what());
    }
    if (!multipath && !pruned.usable.empty()) break;
  }
  entry.connecting = pending;

  if (pruned.usable.empty()) {
    if (newStagingPath && !pending) entry.stagingPaths.erase(stagingPath);
    if (entry.stagingPaths.empty() && entry.controllers.empty() && !entry.connecting)
      record_.erase(entry.nqn);
    else
      record_.put(entry);
    if (onlyForeign && !failures.empty()) {
      // Each failure already says all; without its address prefix when there is one path.
      std::string why = failures.size() == 1
                            ? failures.front().substr(failures.front().find(": ") + 2)
                            : joined(failures, "; ");
      throw Error(Code::kFailedPrecondition, why);
    }
    throw Error(Code::kUnavailable, "no NVMe/TCP path to " + describe(paths) +
                                        " could be connected: " + joined(failures, "; "));
  }
  record_.put(entry);
  if (!failures.empty() && multipath)
    host_.warn("volume " + volumeId + ": staged over " + std::to_string(pruned.liveByPath.size()) +
               " of " + std::to_string(paths.addresses.size()) + " NVMe/TCP paths to " + paths.nqn +
               "; not connected: " + joined(failures, "; ") +
               ". I/O runs over the live paths; the next stage of the volume connects the "
               "missing ones");
  else if (!failures.empty())
    host_.info("volume " + volumeId + ": connected one path of " + paths.nqn +
               " after these failed: " + joined(failures, "; "));
  return pruned.usable;
}

void NvmeVolumeConnections::adoptUnrecorded(SubsystemRecord& entry,
                                            const std::vector<NvmeController>& current,
                                            const std::string& volumeId) const {
  // Controllers to a path of this subsystem that the record does not know: one an interrupted
  // connect of ours made (adopted as owned), or someone else's (used, never disconnected).
  for (const auto& c : current)
    if (c.transport == "tcp" && c.subsysNqn == entry.nqn && c.trsvcid == entry.port &&
        listed(entry.addresses, c.traddr) && !recorded(entry, c.name)) {
      entry.controllers.push_back({c.name, entry.connecting, c.traddr});
      if (!entry.connecting)
        host_.info("volume " + volumeId + ": using " + c.name + ", an existing connection to " +
                   describe(NvmeTcpTarget{entry.nqn, c.traddr, entry.port}) +
                   " this driver did not make (it will not disconnect it)");
    }
}

NvmeVolumeConnections::PrunedControllers NvmeVolumeConnections::prune(
    SubsystemRecord& entry, const std::vector<NvmeController>& current,
    const std::string& volumeId) {
  PrunedControllers out;
  std::vector<RecordedController> keep;
  const bool deviceGone = presentDevice(entry.nqn).empty();
  for (const auto& rc : entry.controllers) {
    const NvmeTcpTarget target{entry.nqn, rc.address, entry.port};
    const NvmeController* now = findController(current, rc.name);
    if (now == nullptr || !now->connects(target.nqn, target.address, target.port))
      continue;  // gone, or its name now belongs to another connection: not ours any more
    if (now->live() && rc.owned && deviceGone) {
      // Live but its namespace is gone (removed behind the driver's back): a new connection
      // enumerates the namespaces again.
      host_.warn("volume " + volumeId + ": controller " + rc.name + " for " + describe(target) +
                 " is live but its block device is gone; replacing it with a new connection");
      sysfs_.deleteController(rc.name);
    } else if (now->live()) {
      out.usable.push_back(rc.name);
      out.liveByPath.emplace(rc.address, rc.name);
      keep.push_back(rc);
    } else if (rc.owned) {
      host_.warn("volume " + volumeId + ": controller " + rc.name + " for " + describe(target) +
                 " is " + now->state + ", not live; replacing it with a new connection");
      sysfs_.deleteController(rc.name);
    } else {
      out.stuckForeign.emplace(rc.address, rc.name + " (" + now->state + ")");
      keep.push_back(rc);
    }
  }
  entry.controllers = std::move(keep);
  return out;
}

std::string NvmeVolumeConnections::connect(SubsystemRecord& entry, const std::string& volumeId,
                                           const NvmeTcpTarget& target,
                                           const NvmeConnectOptions& options, const Call& call) {
  std::set<std::string> before;
  for (const auto& c : sysfs_.controllers()) before.insert(c.name);
  // A connect of an earlier path that outlived its share keeps the mark set.
  const bool earlierPending = entry.connecting;
  // Recorded before the connect: a controller found after a crash in between is ours.
  entry.connecting = true;
  record_.put(entry);
  std::string name;
  try {
    name = connector_(target, options, call);
  } catch (const Error& e) {
    if (e.code() == Code::kDeadlineExceeded || e.code() == Code::kCancelled) throw;
    // The kernel may have made the controller although libnvme could not report it.
    for (const auto& c : sysfs_.controllers())
      if (c.connects(target.nqn, target.address, target.port) && !before.count(c.name)) {
        name = c.name;
        break;
      }
    if (name.empty()) {
      entry.connecting = earlierPending;
      throw;
    }
  }
  entry.controllers.push_back({name, true, target.address});
  entry.connecting = earlierPending;
  record_.put(entry);
  host_.info("volume " + volumeId + ": connected " + describe(target) + " as " + name);
  return name;
}

std::string NvmeVolumeConnections::presentDevice(const std::string& nqn) const {
  for (const auto& name : sysfs_.namespaceDevices(nqn)) {
    std::error_code ec;
    if (std::filesystem::exists(devDir_ / name, ec)) return (devDir_ / name).string();
  }
  return "";
}

std::string NvmeVolumeConnections::waitForDevice(const NvmeTcpPaths& paths,
                                                 const std::vector<std::string>& controllers,
                                                 std::chrono::seconds deviceTimeout,
                                                 const Call& call) const {
  auto until = std::chrono::steady_clock::now() + deviceTimeout;
  while (true) {
    std::string device = presentDevice(paths.nqn);
    if (!device.empty()) return device;
    call.checkpoint("waiting for the block device of " + describe(paths));
    if (std::chrono::steady_clock::now() >= until) {
      std::vector<std::string> inSysfs = sysfs_.namespaceDevices(paths.nqn);
      throw Error(Code::kUnavailable,
                  "connected " + describe(paths) + " as " + joined(controllers) +
                      " but no namespace block device appeared in " + devDir_.string() +
                      " within " + std::to_string(deviceTimeout.count()) + " s (sysfs shows " +
                      (inSysfs.empty() ? std::string("no namespace") : joined(inSysfs)) +
                      "); is the disk exported with a namespace?");
    }
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
        kDevicePollInterval, std::max(call.remaining(), std::chrono::milliseconds(1))));
  }
}

void NvmeVolumeConnections::detach(const std::string& volumeId, const std::string& stagingPath,
                                   const Call& call) {
  for (SubsystemRecord entry : record_.forVolume(volumeId)) {
    call.checkpoint("detaching volume " + volumeId);
    if (stagingPath.empty())
      entry.stagingPaths.clear();
    else
      entry.stagingPaths.erase(stagingPath);
    if (!entry.stagingPaths.empty()) {
      record_.put(entry);
      host_.info("volume " + volumeId + ": " + entry.nqn + " stays connected for " +
                 std::to_string(entry.stagingPaths.size()) + " other staging path(s)");
      continue;
    }
    std::vector<NvmeController> current = sysfs_.controllers();
    // A connect that outlived its call may have finished since: that controller is ours too.
    if (entry.connecting) adoptUnrecorded(entry, current, volumeId);
    for (const auto& rc : entry.controllers) {
      if (!rc.owned) continue;  // someone else's connection: never ours to end
      const NvmeController* now = findController(current, rc.name);
      // A name the kernel gave to another connection since is not ours either.
      if (now == nullptr || now->subsysNqn != entry.nqn || now->transport != "tcp") continue;
      sysfs_.deleteController(rc.name);
      host_.info("volume " + volumeId + ": disconnected " + rc.name + " (" +
                 describe(NvmeTcpTarget{entry.nqn, rc.address, entry.port}) + ")");
    }
    record_.erase(entry.nqn);
  }
}

VolumeCondition NvmeVolumeConnections::condition(const std::string& volumeId) const {
  std::vector<SubsystemRecord> entries = record_.forVolume(volumeId);
  if (entries.empty())
    return {true, "volume " + volumeId +
                      " has no NVMe/TCP connection recorded on this node (not staged here, or "
                      "the record was lost); the next NodeStage connects it"};
  // One subsystem per volume (attach refuses a second volume on a recorded subsystem).
  const SubsystemRecord& entry = entries.front();
  const NvmeTcpPaths paths = pathsOf(entry);
  std::vector<NvmeController> current = sysfs_.controllers();
  std::vector<std::string> live;
  std::set<std::string> liveAddresses;
  std::vector<std::string> problems;
  for (const auto& rc : entry.controllers) {
    const NvmeController* now = findController(current, rc.name);
    bool ours = now != nullptr && now->connects(entry.nqn, rc.address, entry.port);
    if (ours && now->live()) {
      live.push_back(rc.name);
      liveAddresses.insert(rc.address);
      continue;
    }
    problems.push_back(rc.name + " is " + (ours ? now->state : std::string("gone")) + " (path " +
                       rc.address + ")");
  }
  if (live.empty())
    return {true, "no live NVMe/TCP controller for " + describe(paths) + " (" +
                      (problems.empty() ? std::string("none recorded") : joined(problems)) +
                      "); I/O waits while the kernel reconnects, and the next NodeStage "
                      "reconnects it"};
  std::string device = presentDevice(entry.nqn);
  if (device.empty())
    return {true, "the block device of " + describe(paths) + " is gone although " + joined(live) +
                      " is live; the next NodeStage reconnects it"};
  // A path with no controller at all (it failed at stage) counts only with multipath: without
  // it one path is all the node connects.
  if (sysfs_.multipathEnabled())
    for (const auto& a : entry.addresses)
      if (!liveAddresses.count(a) &&
          std::none_of(entry.controllers.begin(), entry.controllers.end(),
                       [&](const RecordedController& rc) { return rc.address == a; }))
        problems.push_back("path " + a + " is not connected");
  if (!problems.empty())
    return {true, "degraded: " + std::to_string(liveAddresses.size()) + " of " +
                      std::to_string(std::max(entry.addresses.size(), liveAddresses.size())) +
                      " NVMe/TCP paths live (" + joined(problems) + "); I/O continues through " +
                      joined(live) + " as " + device +
                      ", and the kernel reconnects a lost path until ctrl_loss_tmo"};
  return {false, "connected through " + joined(live) + " as " + device};
}

}  // namespace polycsi::rds_nvme
