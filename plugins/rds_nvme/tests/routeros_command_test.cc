#include "routeros_command.hpp"

#include <gtest/gtest.h>

namespace polycsi::rds_nvme {
namespace {

SlotName slot(const char* s) { return SlotName::parse(s, "t"); }

TEST(RouterOsCommand, CreateIsTheDocumentedAddCommand) {
  auto cmd = RouterOsCommand::addDisk()
                 .filePath(DiskPath::parse("/storage-pool/kubernetes-volumes/pvc-1.img", "t"))
                 .fileSize(DiskSize::roundUp(int64_t{10} << 30))
                 .slot(slot("pvc-1"))
                 .nvmeTcpExport(true)
                 .nvmeTcpServerPort(PortNumber::of(4420, "t"))
                 .nvmeTcpServerNqn(Nqn::parse("nqn.2000-02.com.mikrotik:pvc-1", "t"));
  EXPECT_EQ(cmd.text(),
            "/disk add type=file file-path=\"/storage-pool/kubernetes-volumes/pvc-1.img\" "
            "file-size=10G slot=\"pvc-1\" nvme-tcp-export=yes nvme-tcp-server-port=4420 "
            "nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:pvc-1\"");
  EXPECT_FALSE(cmd.isReadOnly());
  EXPECT_EQ(cmd.arg("file-size"), "10G");
  EXPECT_EQ(cmd.arg("absent"), std::nullopt);
}

TEST(RouterOsCommand, CopyFromUsesAFindSelector) {
  auto cmd = RouterOsCommand::addDisk()
                 .copyFrom(slot("pvc-src"))
                 .filePath(DiskPath::parse("/p/snap-1.img", "t"))
                 .slot(slot("snap-1"));
  EXPECT_EQ(cmd.text(),
            "/disk add type=file copy-from=[find slot=\"pvc-src\"] "
            "file-path=\"/p/snap-1.img\" slot=\"snap-1\"");
}

TEST(RouterOsCommand, SelectorsAndFilters) {
  EXPECT_EQ(RouterOsCommand::printDiskBySlot(slot("pvc-1")).text(),
            "/disk print detail where slot=\"pvc-1\"");
  EXPECT_TRUE(RouterOsCommand::printDiskBySlot(slot("pvc-1")).isReadOnly());
  EXPECT_EQ(RouterOsCommand::printDisksWithSlotPrefix(SlotPrefix::parse("pvc-", "t")).text(),
            "/disk print detail where slot~\"^pvc-\"");
  EXPECT_EQ(RouterOsCommand::printDiskByMountPoint(MountPoint::parse("storage-pool", "t")).text(),
            "/disk print detail where mount-point=\"storage-pool\"");
  EXPECT_EQ(RouterOsCommand::setDisk(slot("pvc-1")).fileSize(DiskSize::roundUp(1)).text(),
            "/disk set [find slot=\"pvc-1\"] file-size=1M");
  EXPECT_EQ(RouterOsCommand::removeDisk(slot("pvc-1")).text(),
            "/disk remove [find slot=\"pvc-1\"]");
  auto file = FileName::of(DiskPath::parse("/storage-pool/v/pvc-1.img", "t"));
  EXPECT_EQ(RouterOsCommand::printFileByName(file).text(),
            "/file print detail where name=\"storage-pool/v/pvc-1.img\"");
  EXPECT_EQ(RouterOsCommand::removeFile(file).text(),
            "/file remove [find name=\"storage-pool/v/pvc-1.img\"]");
  EXPECT_EQ(RouterOsCommand::printFilesNamedLike(slot("pvc-1")).text(),
            "/file print detail where name~\"pvc-1\"");
}

TEST(RouterOsCommand, AllowedHostsAreOneQuotedCommaList) {
  NqnList hosts;
  hosts.add(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:b", "t"));
  hosts.add(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:a", "t"));
  EXPECT_EQ(RouterOsCommand::setDisk(slot("pvc-1")).nvmeTcpServerAllowHostName(hosts).text(),
            "/disk set [find slot=\"pvc-1\"] nvme-tcp-server-allow-host-name="
            "\"nqn.2014-08.org.nvmexpress:uuid:a,nqn.2014-08.org.nvmexpress:uuid:b\"");
  EXPECT_EQ(RouterOsCommand::setDisk(slot("pvc-1")).nvmeTcpServerAllowHostName(NqnList()).text(),
            "/disk set [find slot=\"pvc-1\"] nvme-tcp-server-allow-host-name=\"\"");
}

TEST(RouterOsCommand, MisuseIsAnInternalError) {
  auto cmd = RouterOsCommand::addDisk().slot(slot("a"));
  try {
    cmd.slot(slot("b"));
    ADD_FAILURE() << "a repeated argument was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
  }
  auto print = RouterOsCommand::printDisks();
  EXPECT_THROW(print.slot(slot("a")), Error);
  EXPECT_EQ(print.text(), "/disk print detail");
}

}  // namespace
}  // namespace polycsi::rds_nvme
