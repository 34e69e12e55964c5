#include "multipath_map.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "host_iscsiadm.hpp"
#include "scsi_disk_growth.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

namespace fs = std::filesystem;

// libmultipath/devmapper.c: every map multipath makes has the dm uuid "mpath-<WWID>".
constexpr char kUuidPrefix[] = "mpath-";
// Looks at the map's size after `multipathd resize map`, which reloads the table at once.
constexpr int kMultipathResizeLooks = 10;

std::string readLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ' || line.back() == '\r'))
    line.pop_back();
  return line;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

MultipathMaps::MultipathMaps(MultipathOptions options) : options_(std::move(options)) {}

void MultipathMaps::requireSupport() const {
  std::error_code ec;
  if (!fs::exists(options_.sysfsRoot / "module" / "dm_multipath", ec)) {
    throw Error(Code::kFailedPrecondition,
                "this node has no dm-multipath: the dm_multipath module is not loaded "
                "(modprobe dm_multipath dm_round_robin; install multipath-tools and start "
                "multipathd), yet the backend's multipath setting is on");
  }
  const std::string hint =
      "install multipath-tools on the node and start multipathd with the configuration in "
      "plugins/iscsi_powerstore/README.md, or turn the backend's multipath setting off";
  findHostProgram(options_.hostRoot, "multipathd", hint);
  findHostProgram(options_.hostRoot, "multipath", hint);
}

CommandOutcome MultipathMaps::run(const std::string& program, const std::vector<std::string>& args,
                                  const Call& call) const {
  const std::string hint = "install multipath-tools on the node";
  const std::vector<std::string> argv =
      hostProgramArgv(options_.hostRoot, findHostProgram(options_.hostRoot, program, hint), args);
  const auto timeout = std::min(options_.commandTimeout, call.remaining());
  if (timeout.count() == 0) throw Error(Code::kDeadlineExceeded, program + ": out of time");
  return options_.runner(argv, timeout);
}

std::string MultipathMaps::wwidOfDisk(const std::string& disk) const {
  const std::string wwid = readLine(options_.sysfsRoot / "class/block" / disk / "device/wwid");
  // SCSI VPD page 0x83 designators as the kernel prints them (drivers/scsi/scsi_lib.c,
  // scsi_vpd_lun_id), and the leading digit udev's scsi_id gives each type (multipath's WWID).
  for (const auto& [prefix, digit] :
       {std::pair<const char*, const char*>{"naa.", "3"}, {"eui.", "2"}, {"t10.", "1"}}) {
    if (wwid.rfind(prefix, 0) == 0 && wwid.size() > 4) return digit + wwid.substr(4);
  }
  throw Error(Code::kFailedPrecondition,
              "SCSI disk " + disk + " has no WWID the node can match to a multipath map (" +
                  (options_.sysfsRoot / "class/block" / disk / "device/wwid").string() + ": '" +
                  wwid + "')");
}

std::optional<MultipathMap> MultipathMaps::mapOfDir(const fs::path& dmDir) const {
  const std::string uuid = readLine(dmDir / "dm" / "uuid");
  if (uuid.rfind(kUuidPrefix, 0) != 0) return std::nullopt;
  return MultipathMap{dmDir.filename().string(), readLine(dmDir / "dm" / "name"),
                      uuid.substr(sizeof(kUuidPrefix) - 1)};
}

std::vector<std::string> MultipathMaps::slavesOf(const std::string& kernelName) const {
  std::vector<std::string> slaves;
  std::error_code ec;
  for (const auto& entry :
       fs::directory_iterator(options_.sysfsRoot / "class/block" / kernelName / "slaves", ec))
    slaves.push_back(entry.path().filename().string());
  std::sort(slaves.begin(), slaves.end());
  return slaves;
}

std::optional<MultipathMap> MultipathMaps::findByName(const std::string& name) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.sysfsRoot / "class/block", ec)) {
    const std::string kernel = entry.path().filename().string();
    if (kernel.rfind("dm-", 0) != 0) continue;
    const auto map = mapOfDir(entry.path());
    if (map && map->name == name) return map;
  }
  return std::nullopt;
}

MultipathMap MultipathMaps::waitForMap(const std::vector<std::string>& disks,
                                       std::chrono::milliseconds timeout, const Call& call) const {
  if (disks.empty()) throw Error(Code::kInternal, "no path disk to build a multipath map from");
  std::set<std::string> wwids;
  for (const std::string& disk : disks) wwids.insert(wwidOfDisk(disk));
  if (wwids.size() != 1) {
    throw Error(Code::kFailedPrecondition, "the path disks " + joined(disks) +
                                               " of one LUN show different WWIDs: the portals "
                                               "do not lead to the same volume");
  }
  const std::string wwid = *wwids.begin();
  // multipathd adds paths on their uevents by itself; asking again is harmless and covers a
  // configuration that waits for a second path (find_multipaths) or a missed event.
  for (const std::string& disk : disks) run("multipathd", {"add", "path", disk}, call);

  const auto deadline = std::chrono::steady_clock::now() + std::min(timeout, call.remaining());
  for (;;) {
    call.checkpoint("waiting for the multipath map of " + joined(disks));
    std::set<std::string> holders;
    std::optional<MultipathMap> map;
    for (const std::string& disk : disks) {
      std::error_code ec;
      for (const auto& h :
           fs::directory_iterator(options_.sysfsRoot / "class/block" / disk / "holders", ec)) {
        const auto held = mapOfDir(options_.sysfsRoot / "class/block" / h.path().filename());
        if (!held) continue;
        holders.insert(held->kernelName);
        map = held;
      }
    }
    if (holders.size() > 1) {
      throw Error(Code::kFailedPrecondition, "the path disks " + joined(disks) +
                                                 " are held by different multipath maps (" +
                                                 joined({holders.begin(), holders.end()}) + ")");
    }
    if (map) {
      const std::vector<std::string> slaves = slavesOf(map->kernelName);
      const bool all = std::all_of(disks.begin(), disks.end(), [&](const std::string& d) {
        return std::find(slaves.begin(), slaves.end(), d) != slaves.end();
      });
      if (map->wwid != wwid) {
        throw Error(Code::kFailedPrecondition, "multipath map " + map->name + " (" +
                                                   map->kernelName + ") has WWID " + map->wwid +
                                                   ", not the LUN's " + wwid);
      }
      if (all) return *map;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw Error(Code::kDeadlineExceeded,
                  "no multipath map holds all paths of the LUN (" + joined(disks) + ", WWID " +
                      wwid +
                      ") in time: is multipathd running on the node, with the configuration in "
                      "plugins/iscsi_powerstore/README.md (no blacklist of these disks)?");
    }
    std::this_thread::sleep_for(options_.pollInterval);
  }
}

void MultipathMaps::flush(const std::string& name, const Call& call) const {
  if (!findByName(name)) return;
  const CommandOutcome outcome = run("multipath", {"-f", name}, call);
  if (outcome.exitCode == 0 || !findByName(name)) return;
  throw Error(Code::kFailedPrecondition,
              "multipath -f " + name + " failed (" + std::to_string(outcome.exitCode) +
                  "): the map is still in use; unmount it first (" + outcome.output + ")");
}

int64_t MultipathMaps::grow(const BlockDeviceSysfs& sysfs, const std::string& devicePath,
                            int64_t requiredBytes, const Call& call) const {
  const std::string kernel = sysfs.kernelName(devicePath);
  const auto map = mapOfDir(sysfs.deviceDir(kernel));
  if (!map) {
    throw Error(Code::kFailedPrecondition,
                "device " + devicePath + " (" + kernel + ") is not a multipath map");
  }
  // Every path that runs first: multipathd sizes the map from its paths. A path the kernel has
  // taken offline (its session lost) cannot be rescanned; it reads the new size when it is
  // back (a SCSI disk re-reads its capacity as its session recovers).
  std::vector<std::string> running;
  for (const std::string& disk : slavesOf(kernel)) {
    const std::string state = readLine(sysfs.deviceDir(disk) / "device" / "state");
    if (state.empty() || state == "running") running.push_back(disk);
  }
  if (running.empty()) {
    throw Error(Code::kFailedPrecondition,
                "multipath map " + map->name + " has no running path to rescan (kubelet retries)");
  }
  for (const std::string& disk : running) rescanScsiDiskNamed(sysfs, disk, requiredBytes, call);
  const CommandOutcome outcome = run("multipathd", {"resize", "map", map->name}, call);
  if (outcome.exitCode != 0 || outcome.output.find("fail") != std::string::npos) {
    throw Error(Code::kFailedPrecondition, "multipathd resize map " + map->name + " failed (" +
                                               std::to_string(outcome.exitCode) +
                                               "): " + outcome.output);
  }
  return sysfs.waitForBytes(kernel, requiredBytes, call, kMultipathResizeLooks);
}

}  // namespace polycsi::iscsi_powerstore
