// The simulated RDS's configuration: the storage pools (mounted file systems, fixed at start)
// and the file-backed disks, persisted as JSON in the state directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rds_sim {

// A mounted file system that file disks live on, shown by `/disk print` as a RAID entry with
// `mount-point="<name>"`. Disk images under it are files in `directory`. Its capacity is
// configured, not measured, so that free space is deterministic: free = capacity minus the
// apparent sizes of all files under the directory.
struct Pool {
  std::string name;
  std::filesystem::path directory;
  std::uint64_t capacity_bytes = 0;
};

// A `type=file` disk. Field names follow the RouterOS properties they back.
struct Disk {
  std::uint32_t id = 0;  // internal id, printed as `*<hex>`; never reused
  std::string slot;
  std::string file_path;  // RouterOS path with a leading slash: `/storage-pool/pvc-1.img`
  std::uint64_t file_size = 0;
  bool nvme_tcp_export = false;
  std::uint16_t nvme_tcp_server_port = 4420;
  std::string nvme_tcp_server_nqn;
  std::string nvme_tcp_server_allow_host_name;  // comma-separated host NQNs; empty = any host
  std::string comment;
  bool mount_filesystem = true;
  bool mount_read_only = false;
  bool compress = false;
};

// A RouterOS path resolved onto the host.
struct ResolvedPath {
  const Pool* pool = nullptr;
  std::string routeros_path;        // normalised, with a leading slash
  std::filesystem::path host_path;  // where the file lives on this machine
};

// Holds pools and disks and writes every change to `<state_dir>/rds-sim-state.json`
// atomically (temporary file, fsync, rename). Loading happens in the constructor.
// Not thread-safe: the command processor serialises all access.
class DiskStore {
 public:
  // Loads the saved disks, if any, and creates the pool directories. Throws std::runtime_error
  // naming the file when the state file is unreadable or malformed, or when a pool directory
  // cannot be created.
  DiskStore(std::filesystem::path state_dir, std::vector<Pool> pools);

  const std::vector<Pool>& pools() const { return pools_; }
  const std::vector<Disk>& disks() const { return disks_; }

  Disk* findBySlot(std::string_view slot);
  Disk* findById(std::uint32_t id);
  const Disk* findById(std::uint32_t id) const;
  const Pool* findPool(std::string_view name) const;

  // Allocates the next never-used disk id (pools use ids 1..N).
  std::uint32_t allocateId();
  // Appends a disk and saves. Throws std::runtime_error when saving fails (the disk stays).
  void addDisk(Disk disk);
  // Replaces the disk with the same id and saves.
  void updateDisk(const Disk& disk);
  // Removes the disk with this id (if present) and saves.
  void removeDisk(std::uint32_t id);

  // Maps `storage-pool/a/b.img` or `/storage-pool/a/b.img` to its pool and host path; nullopt
  // when the first component is not a pool or the path leaves it (`..`, empty components).
  std::optional<ResolvedPath> resolve(std::string_view routeros_path) const;
  // The RouterOS name (`storage-pool/a.img`, no leading slash, as `/file` shows it) of a host
  // path under a pool, or nullopt when it is under none.
  std::optional<std::string> routerOsName(const std::filesystem::path& host_path) const;

  // Sum of the apparent sizes of the regular files under the pool's directory.
  std::uint64_t usedBytes(const Pool& pool) const;

  const std::filesystem::path& stateFile() const { return state_file_; }

 private:
  void load();
  void save() const;

  std::filesystem::path state_dir_;
  std::filesystem::path state_file_;
  std::vector<Pool> pools_;
  std::vector<Disk> disks_;
  std::uint32_t next_id_ = 0;
};

}  // namespace rds_sim
