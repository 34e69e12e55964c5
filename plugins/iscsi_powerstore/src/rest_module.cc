// The plugin's side of the REST transport: loads libpolycsi_iscsi_powerstore_rest.so on the
// first REST call (rest_module.hpp says why), as rds_nvme loads its SSH client.
#include "rest_module.hpp"

#include "polycsi/companion_library.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

void anchor() {}  // an address in this plugin, for companionLibrary

}  // namespace

const RestModule& restModule() {
  return companionLibrary<RestModule>({.plugin = "iscsi_powerstore",
                                       .what = "REST library",
                                       .file = kRestModuleFile,
                                       .entryPoint = kRestModuleEntryPoint,
                                       .anchor = reinterpret_cast<const void*>(&anchor)});
}

}  // namespace polycsi::iscsi_powerstore
