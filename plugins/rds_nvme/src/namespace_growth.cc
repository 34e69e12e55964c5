#include "namespace_growth.hpp"

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
  for (const auto& controller : controllers) {
    call.checkpoint("rescanning " + controller);
    nvme.rescanController(controller);
  }
  return blocks.waitForBytes(ns, requiredBytes, call, kSizeLooks);
}

}  // namespace polycsi::rds_nvme
