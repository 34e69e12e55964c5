#include "disk_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace rds_sim {
namespace {

constexpr int kStateVersion = 1;

nlohmann::json diskToJson(const Disk& disk) {
  return {
      {"id", disk.id},
      {"slot", disk.slot},
      {"file_path", disk.file_path},
      {"file_size", disk.file_size},
      {"nvme_tcp_export", disk.nvme_tcp_export},
      {"nvme_tcp_server_port", disk.nvme_tcp_server_port},
      {"nvme_tcp_server_nqn", disk.nvme_tcp_server_nqn},
      {"nvme_tcp_server_allow_host_name", disk.nvme_tcp_server_allow_host_name},
      {"comment", disk.comment},
      {"mount_filesystem", disk.mount_filesystem},
      {"mount_read_only", disk.mount_read_only},
      {"compress", disk.compress},
  };
}

Disk diskFromJson(const nlohmann::json& json) {
  Disk disk;
  disk.id = json.at("id").get<std::uint32_t>();
  disk.slot = json.at("slot").get<std::string>();
  disk.file_path = json.at("file_path").get<std::string>();
  disk.file_size = json.at("file_size").get<std::uint64_t>();
  disk.nvme_tcp_export = json.at("nvme_tcp_export").get<bool>();
  disk.nvme_tcp_server_port = json.at("nvme_tcp_server_port").get<std::uint16_t>();
  disk.nvme_tcp_server_nqn = json.at("nvme_tcp_server_nqn").get<std::string>();
  disk.nvme_tcp_server_allow_host_name =
      json.at("nvme_tcp_server_allow_host_name").get<std::string>();
  disk.comment = json.value("comment", std::string());
  disk.mount_filesystem = json.value("mount_filesystem", true);
  disk.mount_read_only = json.value("mount_read_only", false);
  disk.compress = json.value("compress", false);
  return disk;
}

void writeAll(int fd, const std::string& data, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "write " + path.string());
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

DiskStore::DiskStore(std::filesystem::path state_dir, std::vector<Pool> pools)
    : state_dir_(std::move(state_dir)),
      state_file_(state_dir_ / "rds-sim-state.json"),
      pools_(std::move(pools)),
      next_id_(static_cast<std::uint32_t>(pools_.size()) + 1) {
  std::filesystem::create_directories(state_dir_);
  for (const Pool& pool : pools_) std::filesystem::create_directories(pool.directory);
  load();
}

void DiskStore::load() {
  if (!std::filesystem::exists(state_file_)) return;
  std::ifstream in(state_file_);
  if (!in) throw std::runtime_error("cannot read state file " + state_file_.string());
  try {
    const nlohmann::json json = nlohmann::json::parse(in);
    if (json.at("version").get<int>() != kStateVersion) {
      throw std::runtime_error("unsupported version " + json.at("version").dump());
    }
    next_id_ = std::max(next_id_, json.at("next_id").get<std::uint32_t>());
    for (const nlohmann::json& item : json.at("disks")) {
      Disk disk = diskFromJson(item);
      next_id_ = std::max(next_id_, disk.id + 1);
      disks_.push_back(std::move(disk));
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("malformed state file " + state_file_.string() + ": " + e.what());
  }
}

void DiskStore::save() const {
  nlohmann::json json = {{"version", kStateVersion}, {"next_id", next_id_}};
  json["disks"] = nlohmann::json::array();
  for (const Disk& disk : disks_) json["disks"].push_back(diskToJson(disk));
  const std::string text = json.dump(2) + "\n";
  const std::filesystem::path temp = state_file_.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + temp.string());
  try {
    writeAll(fd, text, temp);
    if (::fsync(fd) != 0) {
      throw std::system_error(errno, std::generic_category(), "fsync " + temp.string());
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), state_file_.c_str()) != 0) {
    throw std::system_error(errno, std::generic_category(), "rename " + temp.string());
  }
  // The rename is only durable once the directory entry is.
  const int dir_fd = ::open(state_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

Disk* DiskStore::findBySlot(std::string_view slot) {
  for (Disk& disk : disks_) {
    if (disk.slot == slot) return &disk;
  }
  return nullptr;
}

Disk* DiskStore::findById(std::uint32_t id) {
  for (Disk& disk : disks_) {
    if (disk.id == id) return &disk;
  }
  return nullptr;
}

const Disk* DiskStore::findById(std::uint32_t id) const {
  for (const Disk& disk : disks_) {
    if (disk.id == id) return &disk;
  }
  return nullptr;
}

const Pool* DiskStore::findPool(std::string_view name) const {
  for (const Pool& pool : pools_) {
    if (pool.name == name) return &pool;
  }
  return nullptr;
}

std::uint32_t DiskStore::allocateId() { return next_id_++; }

void DiskStore::addDisk(Disk disk) {
  disks_.push_back(std::move(disk));
  save();
}

void DiskStore::updateDisk(const Disk& disk) {
  Disk* existing = findById(disk.id);
  if (existing == nullptr) throw std::logic_error("updateDisk: unknown disk id");
  *existing = disk;
  save();
}

void DiskStore::removeDisk(std::uint32_t id) {
  std::erase_if(disks_, [id](const Disk& disk) { return disk.id == id; });
  save();
}

std::optional<ResolvedPath> DiskStore::resolve(std::string_view routeros_path) const {
  std::string_view rest = routeros_path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  std::vector<std::string> components;
  std::stringstream stream{std::string(rest)};
  std::string component;
  while (std::getline(stream, component, '/')) {
    if (component.empty() || component == "." || component == "..") return std::nullopt;
    components.push_back(component);
  }
  if (components.empty() || (!rest.empty() && rest.back() == '/')) return std::nullopt;
  const Pool* pool = findPool(components.front());
  if (pool == nullptr) return std::nullopt;
  ResolvedPath resolved;
  resolved.pool = pool;
  resolved.host_path = pool->directory;
  resolved.routeros_path = "/" + pool->name;
  for (std::size_t i = 1; i < components.size(); ++i) {
    resolved.host_path /= components[i];
    resolved.routeros_path += "/" + components[i];
  }
  return resolved;
}

std::optional<std::string> DiskStore::routerOsName(const std::filesystem::path& host_path) const {
  for (const Pool& pool : pools_) {
    const std::filesystem::path relative = host_path.lexically_relative(pool.directory);
    if (relative.empty() || *relative.begin() == "..") continue;
    if (relative == ".") return pool.name;
    return pool.name + "/" + relative.generic_string();
  }
  return std::nullopt;
}

std::uint64_t DiskStore::usedBytes(const Pool& pool) const {
  std::uint64_t used = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(pool.directory, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec)) {
      const auto size = it->file_size(entry_ec);
      if (!entry_ec) used += size;
    }
  }
  return used;
}

}  // namespace rds_sim
