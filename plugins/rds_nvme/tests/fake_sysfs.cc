#include "fake_sysfs.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace polycsi::rds_nvme::testing {
namespace {

namespace fs = std::filesystem;

void writeFile(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

}  // namespace

FakeSysfs::FakeSysfs() {
  fs::create_directories(sysRoot() / "class" / "nvme");
  fs::create_directories(sysRoot() / "class" / "nvme-subsystem");
  fs::create_directories(devDir());
}

void FakeSysfs::addController(const std::string& name, const std::string& nqn,
                              const std::string& transport, const std::string& traddr,
                              const std::string& trsvcid, const std::string& state) {
  fs::path dir = sysRoot() / "class" / "nvme" / name;
  writeFile(dir / "subsysnqn", nqn + "\n");
  writeFile(dir / "transport", transport + "\n");
  writeFile(dir / "address", transport == "pcie" ? "0000:01:00.0\n"
                                                 : "traddr=" + traddr + ",trsvcid=" + trsvcid +
                                                       ",src_addr=10.99.0.7\n");
  writeFile(dir / "state", state + "\n");
  writeFile(dir / "delete_controller", "");
}

void FakeSysfs::setState(const std::string& controller, const std::string& state) {
  writeFile(sysRoot() / "class" / "nvme" / controller / "state", state + "\n");
}

void FakeSysfs::removeController(const std::string& name) {
  fs::remove_all(sysRoot() / "class" / "nvme" / name);
}

void FakeSysfs::addSubsystem(const std::string& subsys, const std::string& nqn,
                             const std::vector<std::string>& controllers,
                             const std::vector<std::string>& namespaces) {
  fs::path dir = sysRoot() / "class" / "nvme-subsystem" / subsys;
  writeFile(dir / "subsysnqn", nqn + "\n");
  for (const auto& c : controllers) fs::create_directories(dir / c);
  for (const auto& ns : namespaces) {
    fs::create_directories(dir / ns);
    // Hidden per-controller paths of a multipath namespace: "nvme1n1" → "nvme1c2n1".
    size_t n = ns.find('n', 4);
    for (const auto& c : controllers)
      fs::create_directories(sysRoot() / "class" / "nvme" / c /
                             (ns.substr(0, n) + "c" + c.substr(4) + ns.substr(n)));
  }
}

void FakeSysfs::setMultipath(bool on) {
  writeFile(sysRoot() / "module" / "nvme_core" / "parameters" / "multipath", on ? "Y\n" : "N\n");
}

void FakeSysfs::addControllerNamespace(const std::string& controller, const std::string& ns) {
  fs::create_directories(sysRoot() / "class" / "nvme" / controller / ns);
}

void FakeSysfs::addDevice(const std::string& name) { writeFile(devDir() / name, ""); }

void FakeSysfs::removeDevice(const std::string& name) { fs::remove(devDir() / name); }

std::string FakeSysfs::deleteRequests(const std::string& controller) const {
  std::ifstream in(sysRoot() / "class" / "nvme" / controller / "delete_controller");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace polycsi::rds_nvme::testing
