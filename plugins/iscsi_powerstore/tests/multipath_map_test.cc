// The node's dm-multipath handling against a fake sysfs tree and a fake host's multipath
// tools: finding the map of a LUN's path disks by WWID and holders, flushing it, growing it,
// and the node staging and unstaging through it.
#include "multipath_map.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "iscsi_node.hpp"
#include "temp_directory.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

using polycsi::testing::TempDir;

constexpr char kWwid[] = "naa.6001405abcdef0123456789abcdef01";
constexpr char kMapWwid[] = "36001405abcdef0123456789abcdef01";

class MultipathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(sys() / "module" / "dm_multipath");
    std::filesystem::create_directories(sys() / "module" / "iscsi_tcp");
    for (const char* program : {"multipathd", "multipath", "iscsiadm"}) {
      std::filesystem::create_directories(host() / "usr" / "sbin");
      std::ofstream(host() / "usr" / "sbin" / program) << "";
      ::chmod((host() / "usr" / "sbin" / program).c_str(), 0755);
    }
    std::filesystem::create_directories(host() / "etc" / "iscsi");
    std::ofstream(host() / "etc" / "iscsi" / "initiatorname.iscsi")
        << "InitiatorName=iqn.1994-05.com.redhat:node-a\n";
    std::filesystem::create_directories(dir_.path() / "by-path");
    std::filesystem::create_directories(dir_.path() / "dev");
    std::filesystem::create_directories(dir_.path() / "state");
  }

  std::filesystem::path sys() const { return dir_.path() / "sys"; }
  std::filesystem::path host() const { return dir_.path() / "host"; }
  std::filesystem::path block(const std::string& name) const {
    return sys() / "class" / "block" / name;
  }

  void write(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
  }

  // A SCSI disk of `sizeBytes` with the LUN's WWID; its rescan "grows" it to grownBytes_.
  void addDisk(const std::string& name, int64_t sizeBytes, const std::string& wwid = kWwid) {
    write(block(name) / "size", std::to_string(sizeBytes / 512) + "\n");
    write(block(name) / "device" / "wwid", wwid + "\n");
    write(block(name) / "device" / "rescan", "");
    std::filesystem::create_directories(block(name) / "holders");
    std::ofstream(dir_.path() / "dev" / name) << "";
  }

  // The map multipathd would make of `disks`.
  void addMap(const std::string& kernel, const std::string& name,
              const std::vector<std::string>& disks, int64_t sizeBytes,
              const std::string& wwid = kMapWwid) {
    write(block(kernel) / "dm" / "uuid", "mpath-" + wwid + "\n");
    write(block(kernel) / "dm" / "name", name + "\n");
    write(block(kernel) / "size", std::to_string(sizeBytes / 512) + "\n");
    std::filesystem::create_directories(block(kernel) / "slaves");
    for (const std::string& disk : disks) {
      std::filesystem::create_directories(block(kernel) / "slaves" / disk);
      std::filesystem::create_directories(block(disk) / "holders" / kernel);
    }
    std::ofstream(dir_.path() / "dev" / kernel) << "";
  }

  MultipathOptions options() {
    MultipathOptions o;
    o.hostRoot = host();
    o.sysfsRoot = sys();
    o.pollInterval = std::chrono::milliseconds(1);
    o.runner = [this](const std::vector<std::string>& argv, std::chrono::milliseconds) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      commands_.push_back(line);
      if (onCommand_) return onCommand_(line);
      return CommandOutcome{0, "ok"};
    };
    return o;
  }

  int count(const std::string& needle) const {
    int n = 0;
    for (const auto& c : commands_) n += c.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

  TempDir dir_;
  std::vector<std::string> commands_;
  std::function<CommandOutcome(const std::string&)> onCommand_;
  Call call_;
};

TEST_F(MultipathTest, TheMapHoldingEveryPathDiskIsFoundByItsWwid) {
  addDisk("sdb", 64 << 20);
  addDisk("sdc", 64 << 20);
  // multipathd builds the map once asked to add the second path.
  onCommand_ = [&](const std::string& line) {
    if (line.find("add path sdc") != std::string::npos)
      addMap("dm-3", "mpatha", {"sdb", "sdc"}, 64 << 20);
    return CommandOutcome{0, "ok"};
  };
  MultipathMaps maps(options());
  const MultipathMap map = maps.waitForMap({"sdb", "sdc"}, std::chrono::seconds(5), call_);
  EXPECT_EQ(map.kernelName, "dm-3");
  EXPECT_EQ(map.name, "mpatha");
  EXPECT_EQ(map.wwid, kMapWwid);
  EXPECT_EQ(count(host().string() + " /usr/sbin/multipathd add path sdb"), 1);
  EXPECT_EQ(maps.wwidOfDisk("sdb"), kMapWwid);
}

TEST_F(MultipathTest, AMapWithoutEveryPathOrWithAnotherWwidIsNotTheLuns) {
  addDisk("sdb", 64 << 20);
  addDisk("sdc", 64 << 20);
  addMap("dm-0", "mpatha", {"sdb"}, 64 << 20);
  MultipathMaps maps(options());
  try {
    maps.waitForMap({"sdb", "sdc"}, std::chrono::milliseconds(50), call_);
    FAIL() << "a map lacking a path was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded) << e.what();
    EXPECT_NE(std::string(e.what()).find("multipathd running"), std::string::npos) << e.what();
  }
  addDisk("sdd", 64 << 20, "naa.6001405ffffffffffffffffffffffff0");
  try {
    maps.waitForMap({"sdb", "sdd"}, std::chrono::milliseconds(50), call_);
    FAIL() << "disks of two LUNs were taken for one";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition) << e.what();
  }
  addDisk("sde", 64 << 20);
  addMap("dm-1", "other", {"sde"}, 64 << 20, "3600140500000000000000000000000ff");
  try {
    maps.waitForMap({"sde"}, std::chrono::milliseconds(50), call_);
    FAIL() << "a map of another WWID was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition) << e.what();
  }
}

TEST_F(MultipathTest, NoMultipathOnTheHostIsFailedPreconditionNamingIt) {
  std::filesystem::remove(host() / "usr" / "sbin" / "multipathd");
  try {
    MultipathMaps(options()).requireSupport();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("multipathd"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("multipath-tools"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(sys() / "module" / "dm_multipath");
  try {
    MultipathMaps(options()).requireSupport();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("dm_multipath"), std::string::npos) << e.what();
  }
}

TEST_F(MultipathTest, FlushRemovesTheMapAndAMapInUseIsFailedPrecondition) {
  addDisk("sdb", 64 << 20);
  addMap("dm-0", "mpatha", {"sdb"}, 64 << 20);
  MultipathMaps maps(options());
  onCommand_ = [&](const std::string&) { return CommandOutcome{1, "map in use"}; };
  try {
    maps.flush("mpatha", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition) << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  onCommand_ = [&](const std::string& line) {
    if (line.find("-f mpatha") != std::string::npos) std::filesystem::remove_all(block("dm-0"));
    return CommandOutcome{0, ""};
  };
  maps.flush("mpatha", call_);
  EXPECT_EQ(count("/usr/sbin/multipath -f mpatha"), 2);
  maps.flush("mpatha", call_);  // gone: nothing to run
  EXPECT_EQ(count("/usr/sbin/multipath -f mpatha"), 2);
}

// Growth through the map: every path's disk is rescanned before multipathd resizes the map,
// and the map's size is checked.
TEST_F(MultipathTest, GrowRescansEveryPathThenResizesTheMap) {
  addDisk("sdb", 64 << 20);
  addDisk("sdc", 64 << 20);
  addMap("dm-0", "mpatha", {"sdb", "sdc"}, 64 << 20);
  // The fake kernel grows a disk when its rescan is written, the map on resize.
  BlockDeviceSysfs sysfs(sys(), [&] {
    for (const char* disk : {"sdb", "sdc"}) {
      std::ifstream in(block(disk) / "device" / "rescan");
      std::string written;
      std::getline(in, written);
      if (written == "1") write(block(disk) / "size", std::to_string((96 << 20) / 512) + "\n");
    }
  });
  onCommand_ = [&](const std::string& line) {
    if (line.find("resize map mpatha") != std::string::npos) {
      EXPECT_EQ(commands_.size(), 1u) << "the map is resized once, after every path grew";
      write(block("dm-0") / "size", std::to_string((96 << 20) / 512) + "\n");
    }
    return CommandOutcome{0, "ok"};
  };
  MultipathMaps maps(options());
  EXPECT_EQ(maps.grow(sysfs, (dir_.path() / "dev" / "dm-0").string(), 96 << 20, call_), 96 << 20);
  EXPECT_EQ(count("multipathd resize map mpatha"), 1);

  // A path cut (its disk offline) is not rescanned; the running one carries the growth. With
  // none running there is nothing to grow through.
  write(block("sdb") / "device" / "state", "offline\n");
  write(block("sdb") / "device" / "rescan", "");
  write(block("sdc") / "device" / "rescan", "");
  commands_.clear();
  EXPECT_EQ(maps.grow(sysfs, (dir_.path() / "dev" / "dm-0").string(), 96 << 20, call_), 96 << 20);
  std::ifstream offlineRescan(block("sdb") / "device" / "rescan");
  std::string written;
  std::getline(offlineRescan, written);
  EXPECT_EQ(written, "") << "an offline path was rescanned";
  write(block("sdc") / "device" / "state", "offline\n");
  EXPECT_THROW(maps.grow(sysfs, (dir_.path() / "dev" / "dm-0").string(), 96 << 20, call_), Error);

  // Not a map: refused before anything runs.
  try {
    maps.grow(sysfs, (dir_.path() / "dev" / "sdb").string(), 96 << 20, call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition) << e.what();
  }
}

// The node with multipath on: stage logs in to both portals and returns the map, unstage
// flushes the map before it logs out of either portal.
TEST_F(MultipathTest, NodeStagesTheMapAndUnstageFlushesItBeforeLoggingOut) {
  IscsiNodeOptions node;
  node.hostRoot = host();
  node.sysfsRoot = sys();
  node.byPathDir = dir_.path() / "by-path";
  node.stateDir = dir_.path() / "state";
  node.devDir = dir_.path() / "dev";
  node.multipath = true;
  node.deviceWaitTimeout = std::chrono::seconds(5);
  node.probe = [](const std::string&, const std::string&, const std::string&,
                  const std::optional<ChapSecret>&, std::chrono::milliseconds) {};
  std::vector<std::string> order;
  node.runner = [&](const std::vector<std::string>& argv, std::chrono::milliseconds) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    order.push_back(line);
    // A login makes the path's disk appear; multipathd makes the map once both are there.
    for (const auto& [portal, disk] : {std::pair<const char*, const char*>{"127.0.0.1:3260", "sdb"},
                                       {"127.0.0.2:3260", "sdc"}}) {
      if (line.find(std::string("-p ") + portal + " --login") == std::string::npos) continue;
      addDisk(disk, 64 << 20);
      const auto target = std::string("iqn.2015-10.com.dell:t") + (disk[2] == 'b' ? "1" : "2");
      std::filesystem::create_symlink(
          dir_.path() / "dev" / disk,
          dir_.path() / "by-path" / ("ip-" + std::string(portal) + "-iscsi-" + target + "-lun-1"));
    }
    if (line.find("add path sdc") != std::string::npos)
      addMap("dm-7", "mpathb", {"sdb", "sdc"}, 64 << 20);
    if (line.find("multipath -f mpathb") != std::string::npos)
      std::filesystem::remove_all(block("dm-7"));
    return CommandOutcome{0, ""};
  };
  IscsiNode iscsi(node);
  LunAddress lun{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1, {}};
  lun.paths = {{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1"},
               {"127.0.0.2:3260", "iqn.2015-10.com.dell:t2"}};
  EXPECT_EQ(iscsi.attach(lun, "/stage/a", call_), (dir_.path() / "dev" / "dm-7").string());

  order.clear();
  iscsi.detach("/stage/a", call_);
  ASSERT_GE(order.size(), 3u);
  EXPECT_NE(order[0].find("multipath -f mpathb"), std::string::npos) << order[0];
  int logouts = 0;
  for (const auto& line : order) logouts += line.find("--logout") != std::string::npos ? 1 : 0;
  EXPECT_EQ(logouts, 2) << "every portal is logged out";
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
