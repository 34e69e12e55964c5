// Exports disk images over NVMe/TCP through the kernel's NVMe target (configfs under
// /sys/kernel/config/nvmet), so that the simulator serves real block devices where the kernel
// module is loaded (the VM lab). Tests point it at a plain directory tree instead.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace rds_sim {

// One export: the subsystem named `nqn` with namespace 1 backed by `backing_file`, reachable on
// the TCP port (`address`, `port`), open to `allowed_hosts` (host NQNs) or to any host when the
// list is empty.
struct NvmetExport {
  std::string nqn;
  std::filesystem::path backing_file;
  std::string address = "0.0.0.0";
  std::uint16_t port = 4420;
  std::vector<std::string> allowed_hosts;
};

// Drives the nvmet configfs tree. Every operation is idempotent and converges the tree to the
// requested state; errors throw std::system_error naming the configfs path. Not thread-safe:
// the command processor serialises calls.
class NvmetExporter {
 public:
  static constexpr const char* kDefaultRoot = "/sys/kernel/config/nvmet";

  // `configfs_root` is the nvmet directory (holding subsystems/, ports/, hosts/).
  explicit NvmetExporter(std::filesystem::path configfs_root);

  // True when `configfs_root` exists, i.e. the nvmet module is loaded.
  static bool available(const std::filesystem::path& configfs_root);

  // Creates or updates the export: subsystem, namespace, host list, port and the port link.
  // Moves the subsystem to another port when its port changed.
  void apply(const NvmetExport& spec);

  // Asks the kernel to re-read the namespace size after the backing file grew (no-op where the
  // kernel has no `revalidate_size`).
  void refreshSize(std::string_view nqn);

  // Removes the export and whatever only it used (its port when no other subsystem is linked,
  // the host entries it allowed that no other subsystem allows). Removing an absent export does
  // nothing.
  void remove(std::string_view nqn);

  // Splits RouterOS's `nvme-tcp-server-allow-host-name` (comma-separated) into host NQNs.
  static std::vector<std::string> parseAllowList(std::string_view list);

  const std::filesystem::path& root() const { return root_; }

 private:
  std::filesystem::path findOrCreatePort(const std::string& address, std::uint16_t port);
  void unlinkFromPorts(std::string_view nqn, const std::filesystem::path& keep);
  void setAllowedHosts(const std::filesystem::path& subsystem,
                       const std::vector<std::string>& hosts);
  // Removes the host entries among `candidates` that no subsystem allows any more; hosts this
  // exporter did not just unlink are left alone.
  void removeHostsIfUnused(const std::vector<std::string>& candidates);

  std::filesystem::path root_;
};

}  // namespace rds_sim
