#include "nvme_sysfs.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "polycsi/block_device_sysfs.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {
namespace {

namespace fs = std::filesystem;

// Sysfs attributes are one short line; anything longer is not an attribute we understand.
constexpr std::streamsize kMaxAttributeBytes = 4096;

// The attribute's text without the trailing newline, or nullopt when it cannot be read (the
// object vanished, or the kernel does not provide it).
std::optional<std::string> readAttribute(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(kMaxAttributeBytes, '\0');
  in.read(text.data(), kMaxAttributeBytes);
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

bool allDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "traddr=10.0.0.1,trsvcid=4420,src_addr=10.0.0.2" → the value of `key`, or "".
std::string addressField(const std::string& address, const std::string& key) {
  std::stringstream in(address);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t eq = item.find('=');
    if (eq != std::string::npos && item.substr(0, eq) == key) return item.substr(eq + 1);
  }
  return "";
}

// The numbers in a name such as "nvme12n3" → {12, 3}, for sorting.
std::vector<long> numbersIn(const std::string& name) {
  std::vector<long> out;
  long current = -1;
  for (char c : name) {
    if (c >= '0' && c <= '9') {
      current = (current < 0 ? 0 : current * 10) + (c - '0');
    } else if (current >= 0) {
      out.push_back(current);
      current = -1;
    }
  }
  if (current >= 0) out.push_back(current);
  return out;
}

bool byNumbers(const std::string& a, const std::string& b) {
  return std::make_tuple(numbersIn(a), a) < std::make_tuple(numbersIn(b), b);
}

// Entry names of `dir` (empty when it cannot be read).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return out;
  for (fs::directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    out.push_back(it->path().filename().string());
  }
  return out;
}

}  // namespace

NvmeSysfs::NvmeSysfs(std::filesystem::path root) : root_(std::move(root)) {}

bool NvmeSysfs::isControllerName(const std::string& name) {
  return name.size() > 4 && name.compare(0, 4, "nvme") == 0 && allDigits(name.substr(4));
}

bool NvmeSysfs::isNamespaceName(const std::string& name) {
  if (name.size() < 7 || name.compare(0, 4, "nvme") != 0) return false;
  size_t n = name.find('n', 4);
  return n != std::string::npos && allDigits(name.substr(4, n - 4)) &&
         allDigits(name.substr(n + 1));
}

std::optional<NvmeController> NvmeSysfs::controller(const std::string& name) const {
  if (!isControllerName(name)) return std::nullopt;
  fs::path dir = root_ / "class" / "nvme" / name;
  auto nqn = readAttribute(dir / "subsysnqn");
  auto transport = readAttribute(dir / "transport");
  auto state = readAttribute(dir / "state");
  if (!nqn || !transport || !state) return std::nullopt;
  std::string address = readAttribute(dir / "address").value_or("");
  return NvmeController{
      name,  *nqn, *transport, addressField(address, "traddr"), addressField(address, "trsvcid"),
      *state};
}

std::vector<NvmeController> NvmeSysfs::controllers() const {
  std::vector<std::string> names = entries(root_ / "class" / "nvme");
  std::erase_if(names, [](const std::string& n) { return !isControllerName(n); });
  std::sort(names.begin(), names.end(), byNumbers);
  std::vector<NvmeController> out;
  for (const auto& name : names)
    if (auto c = controller(name)) out.push_back(std::move(*c));
  return out;
}

std::vector<std::string> NvmeSysfs::namespaceDevices(const std::string& nqn) const {
  std::set<std::string> found;
  fs::path subsystems = root_ / "class" / "nvme-subsystem";
  for (const auto& subsys : entries(subsystems)) {
    if (readAttribute(subsystems / subsys / "subsysnqn") != nqn) continue;
    for (const auto& entry : entries(subsystems / subsys))
      if (isNamespaceName(entry)) found.insert(entry);
  }
  std::vector<std::string> out(found.begin(), found.end());
  std::sort(out.begin(), out.end(), byNumbers);
  if (!out.empty()) return out;
  // No multipath heads: the kernel hangs the namespaces under each controller instead, one
  // block device per path; only one of a live controller carries I/O.
  std::vector<std::string> live, down;
  for (const auto& c : controllers()) {
    if (c.subsysNqn != nqn) continue;
    for (const auto& entry : entries(root_ / "class" / "nvme" / c.name))
      if (isNamespaceName(entry)) (c.live() ? live : down).push_back(entry);
  }
  std::sort(live.begin(), live.end(), byNumbers);
  std::sort(down.begin(), down.end(), byNumbers);
  for (auto* group : {&live, &down})
    for (const auto& name : *group)
      if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  return out;
}

bool NvmeSysfs::multipathEnabled() const {
  auto value = readAttribute(root_ / "module" / "nvme_core" / "parameters" / "multipath");
  return value && (*value == "Y" || *value == "y" || *value == "1");
}

std::vector<std::string> NvmeSysfs::controllersOfNamespace(const std::string& ns) const {
  std::vector<std::string> out;
  if (!isNamespaceName(ns)) return out;
  const fs::path subsystems = root_ / "class" / "nvme-subsystem";
  std::error_code ec;
  for (const auto& subsys : entries(subsystems)) {
    if (!fs::exists(subsystems / subsys / ns, ec)) continue;
    for (const auto& entry : entries(subsystems / subsys))
      if (isControllerName(entry)) out.push_back(entry);
  }
  if (out.empty()) {
    for (const auto& c : controllers())
      if (fs::exists(root_ / "class" / "nvme" / c.name / ns, ec)) out.push_back(c.name);
  }
  std::sort(out.begin(), out.end(), byNumbers);
  return out;
}

void NvmeSysfs::rescanController(const std::string& name) const {
  if (!isControllerName(name))
    throw Error(Code::kInternal, "refusing to rescan '" + name + "': not an NVMe controller name");
  writeSysfsTrigger(root_ / "class" / "nvme" / name / "rescan_controller");
}

void NvmeSysfs::deleteController(const std::string& name) const {
  if (!isControllerName(name))
    throw Error(Code::kInternal, "refusing to delete '" + name + "': not an NVMe controller name");
  fs::path file = root_ / "class" / "nvme" / name / "delete_controller";
  std::error_code ec;
  if (!fs::exists(file.parent_path(), ec)) return;
  std::ofstream out(file, std::ios::out | std::ios::app);
  if (!out) {
    int err = errno;
    if (!fs::exists(file.parent_path(), ec)) return;  // removed meanwhile
    throw Error(Code::kInternal, "cannot open " + file.string() + " to disconnect " + name + ": " +
                                     std::strerror(err));
  }
  out << "1";
  out.flush();
  if (!out && fs::exists(file.parent_path(), ec))
    throw Error(Code::kInternal, "writing " + file.string() + " to disconnect " + name + " failed");
}

}  // namespace polycsi::rds_nvme
