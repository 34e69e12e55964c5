// Device resolution through sysfs, on fake trees.
#include "nvme_sysfs.hpp"

#include <gtest/gtest.h>

#include "fake_sysfs.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

constexpr char kVolumeNqn[] = "nqn.2000-02.com.mikrotik:pvc-a";
constexpr char kOtherNqn[] = "nqn.2000-02.com.mikrotik:pvc-b";
constexpr char kForeignNqn[] = "nqn.2014-08.org.example:array-7";

TEST(NvmeSysfs, NamesOfControllersAndNamespaces) {
  EXPECT_TRUE(NvmeSysfs::isControllerName("nvme0"));
  EXPECT_TRUE(NvmeSysfs::isControllerName("nvme12"));
  EXPECT_FALSE(NvmeSysfs::isControllerName("nvme"));
  EXPECT_FALSE(NvmeSysfs::isControllerName("nvme1n1"));
  EXPECT_FALSE(NvmeSysfs::isControllerName("nvme-fabrics"));
  EXPECT_FALSE(NvmeSysfs::isControllerName("../nvme1"));
  EXPECT_TRUE(NvmeSysfs::isNamespaceName("nvme0n1"));
  EXPECT_TRUE(NvmeSysfs::isNamespaceName("nvme10n12"));
  EXPECT_FALSE(NvmeSysfs::isNamespaceName("nvme1c2n1"));  // hidden multipath path
  EXPECT_FALSE(NvmeSysfs::isNamespaceName("nvme1n"));
  EXPECT_FALSE(NvmeSysfs::isNamespaceName("nvme1n1p1"));  // a partition
  EXPECT_FALSE(NvmeSysfs::isNamespaceName("nvme1"));
}

TEST(NvmeSysfs, ReadsEveryControllerSortedByNumber) {
  FakeSysfs fake;
  fake.addController("nvme10", kOtherNqn, "tcp", "10.0.0.2", "4421", "connecting");
  fake.addController("nvme2", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake.addController("nvme0", "nqn.2014.08.org.nvmexpress:8086SSD", "pcie", "", "");
  NvmeSysfs sysfs(fake.sysRoot());
  auto all = sysfs.controllers();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "nvme0");
  EXPECT_EQ(all[0].transport, "pcie");
  EXPECT_EQ(all[0].traddr, "");
  EXPECT_EQ(all[1].name, "nvme2");
  EXPECT_EQ(all[1].subsysNqn, kVolumeNqn);
  EXPECT_EQ(all[1].traddr, "10.0.0.1");
  EXPECT_EQ(all[1].trsvcid, "4420");
  EXPECT_TRUE(all[1].live());
  EXPECT_TRUE(all[1].connects(kVolumeNqn, "10.0.0.1", "4420"));
  EXPECT_FALSE(all[1].connects(kVolumeNqn, "10.0.0.1", "4421"));
  EXPECT_FALSE(all[1].connects(kVolumeNqn, "10.0.0.9", "4420"));
  EXPECT_EQ(all[2].name, "nvme10");
  EXPECT_EQ(all[2].state, "connecting");
  EXPECT_FALSE(all[2].live());
  EXPECT_FALSE(sysfs.controller("nvme7").has_value());
  EXPECT_EQ(sysfs.controller("nvme2")->subsysNqn, kVolumeNqn);
}

TEST(NvmeSysfs, WithoutTheNvmeClassThereAreNoControllers) {
  NvmeSysfs sysfs("/nonexistent/polycsi-sysfs");
  EXPECT_TRUE(sysfs.controllers().empty());
  EXPECT_TRUE(sysfs.namespaceDevices(kVolumeNqn).empty());
}

TEST(NvmeSysfs, MultipathSubsystemResolvesToItsHeadNotThePaths) {
  FakeSysfs fake;
  // Two controllers (two paths) to the volume's subsystem, one to another volume, a foreign
  // array, and a local PCIe disk.
  fake.addController("nvme0", "nqn.2014.08.org.nvmexpress:8086SSD", "pcie", "", "");
  fake.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake.addController("nvme2", kVolumeNqn, "tcp", "10.0.1.1", "4420");
  fake.addController("nvme3", kOtherNqn, "tcp", "10.0.0.1", "4420");
  fake.addController("nvme4", kForeignNqn, "tcp", "192.168.5.5", "4420");
  fake.addSubsystem("nvme-subsys0", "nqn.2014.08.org.nvmexpress:8086SSD", {"nvme0"}, {"nvme0n1"});
  fake.addSubsystem("nvme-subsys1", kVolumeNqn, {"nvme1", "nvme2"}, {"nvme1n1"});
  fake.addSubsystem("nvme-subsys3", kOtherNqn, {"nvme3"}, {"nvme3n1"});
  fake.addSubsystem("nvme-subsys4", kForeignNqn, {"nvme4"}, {"nvme4n2", "nvme4n1"});
  NvmeSysfs sysfs(fake.sysRoot());
  EXPECT_EQ(sysfs.namespaceDevices(kVolumeNqn), std::vector<std::string>{"nvme1n1"});
  EXPECT_EQ(sysfs.namespaceDevices(kOtherNqn), std::vector<std::string>{"nvme3n1"});
  EXPECT_EQ(sysfs.namespaceDevices(kForeignNqn), (std::vector<std::string>{"nvme4n1", "nvme4n2"}));
  EXPECT_TRUE(sysfs.namespaceDevices("nqn.2000-02.com.mikrotik:pvc-unknown").empty());
}

TEST(NvmeSysfs, WithoutMultipathTheNamespacesHangUnderTheControllers) {
  FakeSysfs fake;
  fake.addController("nvme5", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake.addController("nvme6", kOtherNqn, "tcp", "10.0.0.1", "4420");
  fake.addControllerNamespace("nvme5", "nvme5n1");
  fake.addControllerNamespace("nvme6", "nvme6n1");
  NvmeSysfs sysfs(fake.sysRoot());
  EXPECT_EQ(sysfs.namespaceDevices(kVolumeNqn), std::vector<std::string>{"nvme5n1"});
  EXPECT_EQ(sysfs.namespaceDevices(kOtherNqn), std::vector<std::string>{"nvme6n1"});
}

// Multipath off with two paths connected: one block device per path. The one of a live
// controller is the device to use, whatever the numbers; a path that is down comes last.
TEST(NvmeSysfs, WithoutMultipathTheNamespaceOfALivePathComesFirst) {
  FakeSysfs fake;
  fake.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420", "connecting");
  fake.addController("nvme2", kVolumeNqn, "tcp", "10.0.1.1", "4420");
  fake.addControllerNamespace("nvme1", "nvme1n1");
  fake.addControllerNamespace("nvme2", "nvme2n1");
  NvmeSysfs sysfs(fake.sysRoot());
  EXPECT_EQ(sysfs.namespaceDevices(kVolumeNqn), (std::vector<std::string>{"nvme2n1", "nvme1n1"}));
  fake.setState("nvme1", "live");
  EXPECT_EQ(sysfs.namespaceDevices(kVolumeNqn), (std::vector<std::string>{"nvme1n1", "nvme2n1"}));
}

// With multipath on, a path that is down changes nothing: the head stays the device.
TEST(NvmeSysfs, WithMultipathAPathThatIsDownKeepsTheHead) {
  FakeSysfs fake;
  fake.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420", "connecting");
  fake.addController("nvme2", kVolumeNqn, "tcp", "10.0.1.1", "4420");
  fake.addSubsystem("nvme-subsys0", kVolumeNqn, {"nvme1", "nvme2"}, {"nvme0n1"});
  NvmeSysfs sysfs(fake.sysRoot());
  EXPECT_EQ(sysfs.namespaceDevices(kVolumeNqn), std::vector<std::string>{"nvme0n1"});
  EXPECT_EQ(sysfs.controllersOfNamespace("nvme0n1"), (std::vector<std::string>{"nvme1", "nvme2"}));
}

TEST(NvmeSysfs, MultipathIsReadFromNvmeCoresParameter) {
  FakeSysfs fake;
  NvmeSysfs sysfs(fake.sysRoot());
  EXPECT_FALSE(sysfs.multipathEnabled()) << "a kernel without CONFIG_NVME_MULTIPATH";
  fake.setMultipath(true);
  EXPECT_TRUE(sysfs.multipathEnabled());
  fake.setMultipath(false);
  EXPECT_FALSE(sysfs.multipathEnabled());
}

TEST(NvmeSysfs, DeleteControllerWritesTheKernelsDeleteAttribute) {
  FakeSysfs fake;
  fake.addController("nvme1", kVolumeNqn, "tcp", "10.0.0.1", "4420");
  fake.addController("nvme2", kOtherNqn, "tcp", "10.0.0.1", "4420");
  NvmeSysfs sysfs(fake.sysRoot());
  sysfs.deleteController("nvme1");
  EXPECT_EQ(fake.deleteRequests("nvme1"), "1");
  EXPECT_EQ(fake.deleteRequests("nvme2"), "");
  EXPECT_NO_THROW(sysfs.deleteController("nvme9"));  // gone is success
  try {
    sysfs.deleteController("../../etc");
    FAIL() << "a name that is no controller must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
