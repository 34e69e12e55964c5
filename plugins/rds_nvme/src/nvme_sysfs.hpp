// The kernel's view of NVMe controllers and subsystems, read from sysfs.
//
// The layout this reads (all under a root that is /sys on a node and a temporary tree in tests):
//   class/nvme/nvmeN/{subsysnqn,transport,address,state}   one directory per controller
//   class/nvme/nvmeN/nvmeNnM                                 its namespaces without multipath
//   class/nvme-subsystem/nvme-subsysK/subsysnqn              one directory per subsystem
//   class/nvme-subsystem/nvme-subsysK/nvmeKnM                its multipath namespace heads
//   module/nvme_core/parameters/multipath                    Y or N: native multipath on
// With native multipath (the distribution default) the block device of a namespace is the head
// nvmeKnM under the subsystem; the per-controller paths nvmeNcXnM are hidden and never used.
//
// Controllers are removed by writing "1" to class/nvme/nvmeN/delete_controller, the kernel
// interface libnvme's nvme_disconnect_ctrl() uses too; doing it here keeps the root
// configurable, so tests can watch which controllers would be removed.
//
// THREADING: stateless apart from the root; safe from several threads.
// IDEMPOTENCY: reads are; deleteController of a controller that is gone is success.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace polycsi::rds_nvme {

// One NVMe controller as sysfs shows it.
struct NvmeController {
  std::string name;       // "nvme3"
  std::string subsysNqn;  // subsystem NQN it is connected to
  std::string transport;  // "tcp", "rdma", "fc", "loop", "pcie"
  std::string traddr;     // from `address` (fabrics only), e.g. "10.0.0.1"
  std::string trsvcid;    // from `address` (fabrics only), e.g. "4420"
  std::string state;      // "live", "connecting", "resetting", "deleting", "dead", ...

  bool live() const { return state == "live"; }
  // True for a TCP connection to exactly this subsystem, address and port.
  bool connects(const std::string& nqn, const std::string& address, const std::string& port) const {
    return transport == "tcp" && subsysNqn == nqn && traddr == address && trsvcid == port;
  }
};

class NvmeSysfs {
 public:
  // `root` is the sysfs mount point: "/sys" on a node.
  explicit NvmeSysfs(std::filesystem::path root = "/sys");

  const std::filesystem::path& root() const { return root_; }

  // Every controller, sorted by controller number. Controllers that vanish while being read
  // are skipped; an unreadable class/nvme directory (no NVMe driver loaded) gives none.
  std::vector<NvmeController> controllers() const;
  // The controller named `name` ("nvme3"), if it exists now.
  std::optional<NvmeController> controller(const std::string& name) const;
  // True when the kernel joins the paths to one subsystem into one block device: nvme_core's
  // multipath parameter is Y (Debian's default). A kernel built without CONFIG_NVME_MULTIPATH
  // has no such parameter: false.
  bool multipathEnabled() const;
  // Names of the namespace block devices ("nvme2n1") of the subsystem with NQN `nqn`: the
  // multipath heads under its subsystem directory, or, without multipath, the namespaces of its
  // controllers, those of live controllers first (a namespace of a path that is down is used
  // only when no live one shows one). Sorted by (controller/subsystem number, namespace id)
  // within each group, without duplicates.
  std::vector<std::string> namespaceDevices(const std::string& nqn) const;
  // The controllers through which namespace block device `ns` ("nvme2n1") is reached: every
  // controller of its subsystem when it is a multipath head, else the controller it hangs
  // under; empty when no controller shows it. Sorted by controller number.
  std::vector<std::string> controllersOfNamespace(const std::string& ns) const;
  // Asks the kernel to scan the namespaces of controller `name` again (rescan_controller, what
  // `nvme ns-rescan` does), so a namespace the target grew shows its new size; the kernel scans
  // in the background. INTERNAL naming the file when the write fails.
  void rescanController(const std::string& name) const;
  // Asks the kernel to disconnect and remove controller `name`. Gone already is success;
  // throws INTERNAL with the reason when the write fails otherwise.
  void deleteController(const std::string& name) const;

  // True when `name` is a controller name ("nvme" followed by digits).
  static bool isControllerName(const std::string& name);
  // True when `name` is a namespace block device name ("nvme<N>n<M>", not a path
  // "nvme<N>c<X>n<M>").
  static bool isNamespaceName(const std::string& name);

 private:
  std::filesystem::path root_;
};

}  // namespace polycsi::rds_nvme
