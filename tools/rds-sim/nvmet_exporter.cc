#include "nvmet_exporter.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>
#include <system_error>

namespace rds_sim {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void throwErrno(const std::string& what, const fs::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// configfs attributes take one write of the whole value.
void writeAttribute(const fs::path& path, const std::string& value) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throwErrno("open", path);
  const std::string line = value + "\n";
  const ssize_t n = ::write(fd, line.data(), line.size());
  const int saved = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    errno = n < 0 ? saved : EIO;
    throwErrno("write", path);
  }
}

std::string readAttribute(const fs::path& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

void makeDirectory(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throwErrno("mkdir", path);
}

void makeLink(const fs::path& target, const fs::path& link) {
  if (fs::is_symlink(link)) return;
  if (::symlink(target.c_str(), link.c_str()) != 0 && errno != EEXIST) {
    throwErrno("symlink", link);
  }
}

void removeLink(const fs::path& link) {
  if (::unlink(link.c_str()) != 0 && errno != ENOENT) throwErrno("unlink", link);
}

// configfs removes a group and its attributes with one rmdir. A plain directory tree standing
// in for configfs needs its attribute files and default groups removed first; symlinks are
// never followed and must already be gone.
void removeConfigDirectory(const fs::path& path) {
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return;
  if (errno != ENOTEMPTY && errno != EEXIST) throwErrno("rmdir", path);
  for (const fs::directory_entry& entry : fs::directory_iterator(path)) {
    if (entry.is_symlink()) {
      errno = ENOTEMPTY;
      throwErrno("rmdir (still linked)", entry.path());
    }
    if (entry.is_directory()) {
      removeConfigDirectory(entry.path());
    } else if (::unlink(entry.path().c_str()) != 0) {
      throwErrno("unlink", entry.path());
    }
  }
  if (::rmdir(path.c_str()) != 0) throwErrno("rmdir", path);
}

std::string addressFamily(const std::string& address) {
  return address.find(':') != std::string::npos ? "ipv6" : "ipv4";
}

}  // namespace

NvmetExporter::NvmetExporter(fs::path configfs_root) : root_(std::move(configfs_root)) {}

bool NvmetExporter::available(const fs::path& configfs_root) {
  std::error_code ec;
  return fs::is_directory(configfs_root, ec);
}

std::vector<std::string> NvmetExporter::parseAllowList(std::string_view list) {
  std::vector<std::string> hosts;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    std::string_view item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty() && std::find(hosts.begin(), hosts.end(), item) == hosts.end()) {
      hosts.emplace_back(item);
    }
    start = comma + 1;
  }
  return hosts;
}

void NvmetExporter::apply(const NvmetExport& spec) {
  for (const char* group : {"subsystems", "ports", "hosts"}) makeDirectory(root_ / group);
  const fs::path subsystem = root_ / "subsystems" / spec.nqn;
  makeDirectory(subsystem);
  makeDirectory(subsystem / "namespaces");
  makeDirectory(subsystem / "allowed_hosts");
  setAllowedHosts(subsystem, spec.allowed_hosts);

  const fs::path ns = subsystem / "namespaces" / "1";
  makeDirectory(ns);
  const std::string device = spec.backing_file.string();
  const bool enabled = readAttribute(ns / "enable") == "1";
  if (!enabled || readAttribute(ns / "device_path") != device) {
    // The kernel refuses to change device_path while the namespace is enabled.
    if (enabled) writeAttribute(ns / "enable", "0");
    writeAttribute(ns / "device_path", device);
    writeAttribute(ns / "enable", "1");
  }

  const fs::path port = findOrCreatePort(spec.address, spec.port);
  unlinkFromPorts(spec.nqn, port);
  makeDirectory(port / "subsystems");
  makeLink(subsystem, port / "subsystems" / spec.nqn);
}

void NvmetExporter::refreshSize(std::string_view nqn) {
  const fs::path attribute =
      root_ / "subsystems" / std::string(nqn) / "namespaces" / "1" / "revalidate_size";
  if (fs::exists(attribute)) writeAttribute(attribute, "1");
}

void NvmetExporter::remove(std::string_view nqn) {
  const fs::path subsystem = root_ / "subsystems" / std::string(nqn);
  unlinkFromPorts(nqn, fs::path());
  if (!fs::exists(subsystem)) return;
  const fs::path ns = subsystem / "namespaces" / "1";
  if (fs::exists(ns)) {
    if (readAttribute(ns / "enable") == "1") writeAttribute(ns / "enable", "0");
    removeConfigDirectory(ns);
  }
  const fs::path allowed = subsystem / "allowed_hosts";
  std::vector<std::string> dropped;
  if (fs::exists(allowed)) {
    for (const fs::directory_entry& entry : fs::directory_iterator(allowed)) {
      dropped.push_back(entry.path().filename().string());
      removeLink(entry.path());
    }
  }
  removeConfigDirectory(subsystem);
  removeHostsIfUnused(dropped);
}

fs::path NvmetExporter::findOrCreatePort(const std::string& address, std::uint16_t port) {
  const fs::path ports = root_ / "ports";
  const std::string service = std::to_string(port);
  int highest = 0;
  for (const fs::directory_entry& entry : fs::directory_iterator(ports)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    highest = std::max(highest, std::stoi(name));
    if (readAttribute(entry.path() / "addr_trtype") == "tcp" &&
        readAttribute(entry.path() / "addr_traddr") == address &&
        readAttribute(entry.path() / "addr_trsvcid") == service) {
      return entry.path();
    }
  }
  const fs::path created = ports / std::to_string(highest + 1);
  makeDirectory(created);
  // Port attributes are fixed once a subsystem is linked, so they are written first.
  writeAttribute(created / "addr_trtype", "tcp");
  writeAttribute(created / "addr_adrfam", addressFamily(address));
  writeAttribute(created / "addr_traddr", address);
  writeAttribute(created / "addr_trsvcid", service);
  return created;
}

void NvmetExporter::unlinkFromPorts(std::string_view nqn, const fs::path& keep) {
  const fs::path ports = root_ / "ports";
  if (!fs::exists(ports)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(ports)) {
    if (entry.path() == keep) continue;
    const fs::path link = entry.path() / "subsystems" / std::string(nqn);
    if (!fs::is_symlink(link)) continue;
    removeLink(link);
    // A port no subsystem uses any more is ours to remove.
    if (fs::is_empty(entry.path() / "subsystems")) removeConfigDirectory(entry.path());
  }
}

void NvmetExporter::setAllowedHosts(const fs::path& subsystem,
                                    const std::vector<std::string>& hosts) {
  const fs::path allowed = subsystem / "allowed_hosts";
  const std::set<std::string> wanted(hosts.begin(), hosts.end());
  // The kernel only accepts allowed_hosts links while attr_allow_any_host is 0, and only
  // accepts attr_allow_any_host=1 once the list is empty: order the steps accordingly.
  if (!wanted.empty()) writeAttribute(subsystem / "attr_allow_any_host", "0");
  std::vector<std::string> dropped;
  for (const fs::directory_entry& entry : fs::directory_iterator(allowed)) {
    const std::string host = entry.path().filename().string();
    if (wanted.count(host) == 0) {
      dropped.push_back(host);
      removeLink(entry.path());
    }
  }
  for (const std::string& host : wanted) {
    const fs::path host_dir = root_ / "hosts" / host;
    makeDirectory(host_dir);
    makeLink(host_dir, allowed / host);
  }
  if (wanted.empty()) writeAttribute(subsystem / "attr_allow_any_host", "1");
  removeHostsIfUnused(dropped);
}

void NvmetExporter::removeHostsIfUnused(const std::vector<std::string>& candidates) {
  const fs::path hosts = root_ / "hosts";
  if (candidates.empty() || !fs::exists(hosts)) return;
  std::set<std::string> in_use;
  for (const fs::directory_entry& subsystem : fs::directory_iterator(root_ / "subsystems")) {
    const fs::path allowed = subsystem.path() / "allowed_hosts";
    if (!fs::exists(allowed)) continue;
    for (const fs::directory_entry& link : fs::directory_iterator(allowed)) {
      in_use.insert(link.path().filename().string());
    }
  }
  for (const std::string& host : candidates) {
    if (in_use.count(host) == 0) removeConfigDirectory(hosts / host);
  }
}

}  // namespace rds_sim
