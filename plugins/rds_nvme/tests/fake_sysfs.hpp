// A fake sysfs and /dev for the node-side tests: directories and attribute files laid out as
// the kernel shows NVMe controllers, subsystems and namespaces (see src/nvme_sysfs.hpp), in a
// temporary directory removed at destruction.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "temp_directory.hpp"

namespace polycsi::rds_nvme::testing {

class FakeSysfs {
 public:
  FakeSysfs();

  std::filesystem::path sysRoot() const { return root_.path() / "sys"; }
  std::filesystem::path devDir() const { return root_.path() / "dev"; }

  // class/nvme/<name>/{subsysnqn,transport,address,state,delete_controller}.
  void addController(const std::string& name, const std::string& nqn, const std::string& transport,
                     const std::string& traddr, const std::string& trsvcid,
                     const std::string& state = "live");
  void setState(const std::string& controller, const std::string& state);
  void removeController(const std::string& name);
  // class/nvme-subsystem/<subsys>/subsysnqn, with a link entry per controller and one head
  // namespace entry (plus hidden per-path entries nvmeXcYnZ) per name in `namespaces`.
  void addSubsystem(const std::string& subsys, const std::string& nqn,
                    const std::vector<std::string>& controllers,
                    const std::vector<std::string>& namespaces);
  // module/nvme_core/parameters/multipath: "Y" (native multipath on) or "N".
  void setMultipath(bool on);
  // A namespace directly under a controller (no multipath).
  void addControllerNamespace(const std::string& controller, const std::string& ns);
  // The device node /dev/<name> (a plain file here).
  void addDevice(const std::string& name);
  void removeDevice(const std::string& name);
  // What was written to the controller's delete_controller ("" when never, "1" when deleted).
  std::string deleteRequests(const std::string& controller) const;

 private:
  polycsi::testing::TempDir root_{"polycsi-fake-sysfs"};
};

}  // namespace polycsi::rds_nvme::testing
