#include "namespace_growth.hpp"

#include <optional>
#include <string>
#include <vector>

namespace polycsi::rds_nvme {
namespace {
constexpr int kSizeLooks = 50;  // 5 s with BlockDeviceSysfs's 100 ms between looks
}  // namespace

int64_t rescanNamespace(const NvmeSysfs& nvme, const BlockDeviceSysfs& blocks,
                        const std::string& devicePath, int64_t requiredBytes, const Call& call) {
  const std::string ns = blocks.kernelName(devicePath);
  const std::vector<std::string> controllers = nvme.controllersOfNamespace(ns);
  if (controllers.empty())
    throw Error(Code::kFailedPrecondition, "device " + devicePath + " (" + ns +
                                               ") is not a namespace of a connected NVMe "
                                               "controller on this node");
  // A path that is down (reconnecting, or being removed with its sysfs directory) cannot scan;
  // the live ones can, and one scan updates the shared namespace head.
  std::vector<std::string> down;
  size_t rescanned = 0;
  for (const auto& controller : controllers) {
    call.checkpoint("rescanning " + controller);
    std::optional<NvmeController> now = nvme.controller(controller);
    if (!now || !now->live()) {
      down.push_back(controller + " (" + (now ? now->state : std::string("gone")) + ")");
      continue;
    }
    nvme.rescanController(controller);
    ++rescanned;
  }
  if (rescanned == 0) {
    std::string names;
    for (const auto& d : down) names += (names.empty() ? "" : ", ") + d;
    throw Error(Code::kUnavailable, "device " + devicePath + " (" + ns +
                                        ") has no live NVMe controller to rescan it through (" +
                                        names + "); retry once the kernel reconnected a path");
  }
  return blocks.waitForBytes(ns, requiredBytes, call, kSizeLooks);
}

}  // namespace polycsi::rds_nvme
