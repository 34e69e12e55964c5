// The table of libpolycsi_rds_nvme_nvme.so: the plugin's calls into libnvme (connecting an
// NVMe/TCP controller, generating a host NQN), in a library of its own that the plugin loads
// only when a node first needs one of them.
//
// Why a separate library: libnvme links libcrypto, so a plugin linking libnvme maps and
// relocates libcrypto (some 1.45 MiB resident) in every process that loads it, a controller
// and an idle node included (bench/README.md, "Resident memory"). Only staging a volume, or a
// node without a host NQN file, calls libnvme; everything else on the node (sysfs, the host
// NQN file) is plain file access.
//
// The module is built from this tree with the same compiler and standard library as the plugin,
// so the table passes C++ types; nothing throws across it (each function reports failure in its
// result). Like the SSH module's (ssh_module.hpp) it has no ABI promise beyond one build.
#pragma once

#include <cstddef>
#include <string>

#include "nvme_tcp_connector.hpp"

namespace polycsi::rds_nvme {

// What one connect came to.
struct NvmeConnectResult {
  std::string controller;  // the new controller ("nvme3") on success; empty on failure
  std::string reason;      // on failure: libnvme's or the C library's text for the error
  std::string messages;    // what libnvme logged during the attempt (may be empty)
  // The kernel still has a controller for this target (ENVME_CONNECT_ALREADY or EALREADY).
  bool alreadyConnected = false;
  // libnvme could not open /dev/nvme-fabrics (ENVME_CONNECT_OPEN).
  bool fabricsOpenFailed = false;
};

struct NvmeModule {
  // sizeof(NvmeModule) as the module was built; the loader refuses another size.
  size_t size;
  // Connects `target` with `options` through libnvme's nvmf_add_ctrl, which blocks until the
  // kernel made or refused the connection. THREADING: any thread; each call uses its own libnvme
  // tree. Never throws.
  void (*connect)(const NvmeTcpTarget& target, const NvmeConnectOptions& options,
                  NvmeConnectResult& result);
  // libnvme's nvmf_hostnqn_generate() (from the machine's DMI product UUID when it has one,
  // random otherwise). False when libnvme could not. Never throws.
  bool (*generateHostNqn)(std::string& nqn);
};

// The module's exported entry point (extern "C", default visibility, in libnvme_module.cc).
inline constexpr char kNvmeModuleEntryPoint[] = "polycsi_rds_nvme_nvme_module_v1";
// Where it is: ../lib/<this> beside the object that holds the plugin's code, as for the SSH
// module (ssh_module.hpp).
inline constexpr char kNvmeModuleFile[] = "libpolycsi_rds_nvme_nvme.so";

// The module, loaded on the first call. Throws FAILED_PRECONDITION naming the library's path
// when it is missing or of another build (every call, without trying to load it again).
// THREADING: any thread.
const NvmeModule& nvmeModule();

}  // namespace polycsi::rds_nvme
