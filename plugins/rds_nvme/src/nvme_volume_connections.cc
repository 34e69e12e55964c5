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

NvmeTcpTarget targetOf(const SubsystemRecord& entry) {
  return NvmeTcpTarget{entry.nqn, entry.address, entry.port};
}

}  // namespace

NvmeVolumeConnections::NvmeVolumeConnections(NvmeSysfs sysfs, std::filesystem::path devDir,
                                             ConnectionRecord& record, Host host)
    : sysfs_(std::move(sysfs)), devDir_(std::move(devDir)), record_(record), host_(host) {}

std::string NvmeVolumeConnections::attach(const std::string& volumeId, const NvmeTcpTarget& target,
                                          const std::string& stagingPath,
                                          const NvmeConnectOptions& options,
                                          std::chrono::seconds deviceTimeout, const Call& call) {
  std::string controller = ensureConnected(volumeId, target, stagingPath, options, call);
  return waitForDevice(target, controller, deviceTimeout, call);
}

std::string NvmeVolumeConnections::ensureConnected(const std::string& volumeId,
                                                   const NvmeTcpTarget& target,
                                                   const std::string& stagingPath,
                                                   const NvmeConnectOptions& options,
                                                   const Call& call) {
  SubsystemRecord entry =
      record_.find(target.nqn)
          .value_or(SubsystemRecord{target.nqn, volumeId, target.address, target.port, {}, {}});
  if (entry.volumeId != volumeId)
    throw Error(Code::kFailedPrecondition, "subsystem " + target.nqn +
                                               " is recorded on this node for volume " +
                                               entry.volumeId + ", not " + volumeId +
                                               "; two volumes cannot share one NVMe subsystem");
  entry.address = target.address;
  entry.port = target.port;

  const std::vector<NvmeController> current = sysfs_.controllers();
  adoptUnrecorded(entry, current, volumeId, target);
  const PrunedControllers pruned = prune(entry, current, volumeId, target);
  if (!pruned.usable.empty()) {
    entry.stagingPaths.insert(stagingPath);
    entry.connecting = false;
    record_.put(entry);
    return pruned.usable;
  }
  if (!pruned.stuckForeign.empty()) {
    std::string names;
    for (const auto& n : pruned.stuckForeign) names += (names.empty() ? "" : ", ") + n;
    throw Error(Code::kFailedPrecondition,
                "the NVMe controller " + names + " for " + describe(target) +
                    " was not connected by this driver and is not live; the kernel refuses a "
                    "second connection to the same target. Wait for it to reconnect or remove "
                    "it (nvme disconnect -d <name>)");
  }
  return connect(entry, current, volumeId, target, stagingPath, options, call);
}

void NvmeVolumeConnections::adoptUnrecorded(SubsystemRecord& entry,
                                            const std::vector<NvmeController>& current,
                                            const std::string& volumeId,
                                            const NvmeTcpTarget& target) const {
  // Controllers to this target that the record does not know: the one an interrupted connect
  // of ours made (adopted as owned), or someone else's (used, never disconnected).
  for (const auto& c : current)
    if (c.connects(target.nqn, target.address, target.port) && !recorded(entry, c.name)) {
      entry.controllers.push_back({c.name, entry.connecting});
      if (!entry.connecting)
        host_.info("volume " + volumeId + ": using " + c.name + ", an existing connection to " +
                   describe(target) + " this driver did not make (it will not disconnect it)");
    }
}

NvmeVolumeConnections::PrunedControllers NvmeVolumeConnections::prune(
    SubsystemRecord& entry, const std::vector<NvmeController>& current, const std::string& volumeId,
    const NvmeTcpTarget& target) {
  PrunedControllers out;
  std::vector<RecordedController> keep;
  for (const auto& rc : entry.controllers) {
    const NvmeController* now = findController(current, rc.name);
    if (now == nullptr || !now->connects(target.nqn, target.address, target.port))
      continue;  // gone, or its name now belongs to another connection: not ours any more
    if (now->live() && rc.owned && presentDevice(target.nqn).empty()) {
      // Live but its namespace is gone (removed behind the driver's back): a new connection
      // enumerates the namespaces again.
      host_.warn("volume " + volumeId + ": controller " + rc.name + " for " + describe(target) +
                 " is live but its block device is gone; replacing it with a new connection");
      sysfs_.deleteController(rc.name);
    } else if (now->live()) {
      if (out.usable.empty()) out.usable = rc.name;
      keep.push_back(rc);
    } else if (rc.owned) {
      host_.warn("volume " + volumeId + ": controller " + rc.name + " for " + describe(target) +
                 " is " + now->state + ", not live; replacing it with a new connection");
      sysfs_.deleteController(rc.name);
    } else {
      out.stuckForeign.push_back(rc.name + " (" + now->state + ")");
      keep.push_back(rc);
    }
  }
  entry.controllers = std::move(keep);
  return out;
}

std::string NvmeVolumeConnections::connect(SubsystemRecord& entry,
                                           const std::vector<NvmeController>& current,
                                           const std::string& volumeId, const NvmeTcpTarget& target,
                                           const std::string& stagingPath,
                                           const NvmeConnectOptions& options, const Call& call) {
  std::set<std::string> before;
  for (const auto& c : current) before.insert(c.name);
  bool newPath = entry.stagingPaths.insert(stagingPath).second;
  // Recorded before the connect: a controller found after a crash in between is ours.
  entry.connecting = true;
  record_.put(entry);
  std::string name;
  try {
    name = connectNvmeTcp(target, options, call);
  } catch (const Error& e) {
    if (e.code() == Code::kDeadlineExceeded || e.code() == Code::kCancelled) throw;
    // The kernel may have made the controller although libnvme could not report it.
    for (const auto& c : sysfs_.controllers())
      if (c.connects(target.nqn, target.address, target.port) && !before.count(c.name)) {
        name = c.name;
        break;
      }
    if (name.empty()) {
      if (newPath) entry.stagingPaths.erase(stagingPath);
      entry.connecting = false;
      if (entry.stagingPaths.empty() && entry.controllers.empty())
        record_.erase(entry.nqn);
      else
        record_.put(entry);
      throw;
    }
  }
  entry.controllers.push_back({name, true});
  entry.connecting = false;
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

std::string NvmeVolumeConnections::waitForDevice(const NvmeTcpTarget& target,
                                                 const std::string& controller,
                                                 std::chrono::seconds deviceTimeout,
                                                 const Call& call) const {
  auto until = std::chrono::steady_clock::now() + deviceTimeout;
  while (true) {
    std::string device = presentDevice(target.nqn);
    if (!device.empty()) return device;
    call.checkpoint("waiting for the block device of " + describe(target));
    if (std::chrono::steady_clock::now() >= until) {
      std::vector<std::string> inSysfs = sysfs_.namespaceDevices(target.nqn);
      std::string seen;
      for (const auto& n : inSysfs) seen += (seen.empty() ? "" : ", ") + n;
      throw Error(Code::kUnavailable,
                  "connected " + describe(target) + " as " + controller +
                      " but no namespace block device appeared in " + devDir_.string() +
                      " within " + std::to_string(deviceTimeout.count()) + " s (sysfs shows " +
                      (seen.empty() ? std::string("no namespace") : seen) +
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
    NvmeTcpTarget target = targetOf(entry);
    std::vector<NvmeController> current = sysfs_.controllers();
    for (const auto& rc : entry.controllers) {
      if (!rc.owned) continue;  // someone else's connection: never ours to end
      const NvmeController* now = findController(current, rc.name);
      // A name the kernel gave to another connection since is not ours either.
      if (now == nullptr || now->subsysNqn != entry.nqn || now->transport != "tcp") continue;
      sysfs_.deleteController(rc.name);
      host_.info("volume " + volumeId + ": disconnected " + rc.name + " (" + describe(target) +
                 ")");
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
  NvmeTcpTarget target = targetOf(entry);
  std::vector<NvmeController> current = sysfs_.controllers();
  std::string live;
  std::string problems;
  for (const auto& rc : entry.controllers) {
    const NvmeController* now = findController(current, rc.name);
    bool ours = now != nullptr && now->connects(target.nqn, target.address, target.port);
    if (ours && now->live()) {
      if (live.empty()) live = rc.name;
      continue;
    }
    problems += (problems.empty() ? "" : ", ") + rc.name + " is " +
                (ours ? now->state : std::string("gone"));
  }
  if (live.empty())
    return {true, "no live NVMe/TCP controller for " + describe(target) + " (" +
                      (problems.empty() ? std::string("none recorded") : problems) +
                      "); I/O waits while the kernel reconnects, and the next NodeStage "
                      "reconnects it"};
  std::string device = presentDevice(entry.nqn);
  if (device.empty())
    return {true, "the block device of " + describe(target) + " is gone although " + live +
                      " is live; the next NodeStage reconnects it"};
  return {false, "connected through " + live + " as " + device};
}

}  // namespace polycsi::rds_nvme
