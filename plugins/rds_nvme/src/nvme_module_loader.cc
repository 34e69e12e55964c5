// Loads libpolycsi_rds_nvme_nvme.so on the plugin's first libnvme call (nvme_module.hpp).
#include "nvme_module.hpp"
#include "polycsi/companion_library.hpp"

namespace polycsi::rds_nvme {
namespace {

void anchor() {}  // an address in this plugin, for companionLibrary

}  // namespace

const NvmeModule& nvmeModule() {
  return companionLibrary<NvmeModule>({.plugin = "rds_nvme",
                                       .what = "NVMe library",
                                       .file = kNvmeModuleFile,
                                       .entryPoint = kNvmeModuleEntryPoint,
                                       .anchor = reinterpret_cast<const void*>(&anchor)});
}

}  // namespace polycsi::rds_nvme
