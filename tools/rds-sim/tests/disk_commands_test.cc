#include "disk_commands.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "temp_directory.hpp"

namespace rds_sim {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::TempDir;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;

// A stand-in for /sys/kernel/config/nvmet, which exists whenever the nvmet module is loaded.
fs::path fakeConfigfs(const fs::path& path) {
  fs::create_directories(path);
  return path;
}

class DiskCommandsTest : public ::testing::Test {
 protected:
  DiskCommandsTest()
      : store_(dir_.path() / "state", {Pool{"storage-pool", dir_.path() / "pool", 100 * kGiB}}),
        exporter_(fakeConfigfs(dir_.path() / "nvmet")),
        processor_(store_, faults_, &exporter_, CommandProcessorOptions{"10.0.0.1", "\n"}) {}

  CommandOutcome run(const std::string& line) { return processor_.execute(line, 64); }

  std::string ok(const std::string& line) {
    const CommandOutcome outcome = run(line);
    EXPECT_EQ(outcome.exit_status, 0) << line << " -> " << outcome.output;
    return outcome.output;
  }

  std::string error(const std::string& line) {
    const CommandOutcome outcome = run(line);
    EXPECT_EQ(outcome.exit_status, 1) << line << " -> " << outcome.output;
    return outcome.output;
  }

  void addDisk(const std::string& slot, const std::string& size = "10G") {
    ok("/disk add type=file file-path=/storage-pool/" + slot + ".img file-size=" + size +
       " slot=" + slot +
       " nvme-tcp-export=yes nvme-tcp-server-port=4420 "
       "nvme-tcp-server-nqn=nqn.2000-02.com.mikrotik:" +
       slot);
  }

  TempDir dir_;
  DiskStore store_;
  FaultInjector faults_;
  NvmetExporter exporter_;
  CommandProcessor processor_;
};

TEST_F(DiskCommandsTest, AddCreatesASparseExportedDiskThatPrintShows) {
  addDisk("pvc-1", "50G");
  EXPECT_EQ(fs::file_size(dir_.path() / "pool" / "pvc-1.img"), 50 * kGiB);
  EXPECT_EQ(ok("/disk print detail where slot=pvc-1"),
            "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT\n"
            " 1 Bt type=file slot=\"pvc-1\" slot-default=\"\" parent=\"\" fs=-\n"
            "      model=\"/storage-pool/pvc-1.img\"\n"
            "      size=53 687 091 200 mount-filesystem=yes\n"
            "      mount-read-only=no compress=no sector-size=512\n"
            "      raid-master=none nvme-tcp-export=yes\n"
            "      nvme-tcp-server-port=4420\n"
            "      nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:pvc-1\"\n"
            "      nvme-tcp-server-allow-host-name=\"\" iscsi-export=no\n"
            "      nfs-sharing=no smb-sharing=no media-sharing=no\n"
            "      media-interface=none swap=no\n"
            "      file-path=/storage-pool/pvc-1.img\n"
            "      file-size=50.0GiB file-offset=0\n");
  EXPECT_TRUE(fs::is_symlink(dir_.path() / "nvmet" / "ports" / "1" / "subsystems" /
                             "nqn.2000-02.com.mikrotik:pvc-1"));
}

TEST_F(DiskCommandsTest, PoolEntryReportsCapacity) {
  addDisk("pvc-1", "25G");
  const std::string out = ok("/disk print detail where mount-point=\"storage-pool\"");
  EXPECT_NE(out.find("size=107 374 182 400"), std::string::npos) << out;
  EXPECT_NE(out.find("free=80 530 636 800"), std::string::npos) << out;
  EXPECT_NE(out.find("use=25%"), std::string::npos) << out;
  EXPECT_EQ(out.find("pvc-1"), std::string::npos) << out;
}

TEST_F(DiskCommandsTest, AddRefusesDuplicatesBadPathsAndTooLargeDisks) {
  addDisk("pvc-1");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/other.img file-size=1G slot=pvc-1"),
            "failure: slot already exists\n");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/pvc-1.img file-size=1G slot=x"),
            "failure: file already exists\n");
  EXPECT_EQ(error("/disk add type=file file-path=/nowhere/x.img file-size=1G slot=x"),
            "failure: file-path is not on a mounted disk\n");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/x.img file-size=91G slot=x"),
            "failure: not enough space\n");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/x.img file-size=lots slot=x"),
            "invalid value for argument file-size\n");
  EXPECT_EQ(error("/disk add type=file bogus=1"), "expected end of command (line 1 column 21)\n");
  EXPECT_EQ(error("/disk add type=floppy"), "input does not match any value of type\n");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/x.img file-size=1G "
                  "nvme-tcp-export=maybe"),
            "input does not match any value of nvme-tcp-export\n");
  EXPECT_FALSE(fs::exists(dir_.path() / "pool" / "x.img"));
}

TEST_F(DiskCommandsTest, SetGrowsAndFencesButNeverShrinks) {
  addDisk("pvc-1");
  ok("/disk set [find slot=pvc-1] file-size=20G");
  EXPECT_EQ(fs::file_size(dir_.path() / "pool" / "pvc-1.img"), 20 * kGiB);
  EXPECT_EQ(error("/disk set [find slot=pvc-1] file-size=5G"),
            "failure: file-size can not be decreased\n");
  ok("/disk set pvc-1 nvme-tcp-server-allow-host-name=nqn.host-a,nqn.host-b");
  const fs::path subsystem =
      dir_.path() / "nvmet" / "subsystems" / "nqn.2000-02.com.mikrotik:pvc-1";
  EXPECT_TRUE(fs::is_symlink(subsystem / "allowed_hosts" / "nqn.host-a"));
  EXPECT_NE(ok("/disk print detail where slot=pvc-1")
                .find("nvme-tcp-server-allow-host-name=\"nqn.host-a,nqn.host-b\""),
            std::string::npos);
  ok("/disk set [find slot=pvc-1] nvme-tcp-export=no");
  EXPECT_FALSE(fs::exists(subsystem));
  // An empty [find] changes nothing and succeeds, as on RouterOS.
  EXPECT_EQ(ok("/disk set [find slot=missing] file-size=1T"), "");
}

TEST_F(DiskCommandsTest, RemoveOfNothingSucceedsButABadNumberFails) {
  addDisk("pvc-1");
  EXPECT_EQ(ok("/disk remove [find slot=missing]"), "");
  EXPECT_EQ(error("/disk remove 99"), "no such item\n");
  EXPECT_EQ(error("/disk remove 0"), "failure: can not remove a mounted RAID\n");
  ok("/disk remove [find slot=pvc-1]");
  EXPECT_EQ(ok("/disk print detail where slot=pvc-1"), "");
  // The image stays until /file remove, like on RouterOS.
  EXPECT_TRUE(fs::exists(dir_.path() / "pool" / "pvc-1.img"));
  const std::string file = ok("/file print detail where name=\"storage-pool/pvc-1.img\"");
  EXPECT_EQ(file.rfind(
                " 1 name=storage-pool/pvc-1.img\n   type=.img file size=10.0GiB last-modified=", 0),
            0u)
      << file;
  ok("/file remove [find name=\"storage-pool/pvc-1.img\"]");
  EXPECT_FALSE(fs::exists(dir_.path() / "pool" / "pvc-1.img"));
  EXPECT_EQ(ok("/file print detail where name=\"storage-pool/pvc-1.img\""), "");
}

TEST_F(DiskCommandsTest, FileInUseCannotBeRemoved) {
  addDisk("pvc-1");
  EXPECT_EQ(error("/file remove [find name=\"storage-pool/pvc-1.img\"]"),
            "failure: file is in use\n");
}

TEST_F(DiskCommandsTest, CopyFromKeepsDataAndHoles) {
  addDisk("src", "1G");
  {
    std::fstream image(dir_.path() / "pool" / "src.img",
                       std::ios::in | std::ios::out | std::ios::binary);
    image.seekp(512 * 1024 * 1024);
    image << "payload";
  }
  ok("/disk add type=file copy-from=[find slot=src] file-path=/storage-pool/snap.img slot=snap");
  std::ifstream copy(dir_.path() / "pool" / "snap.img", std::ios::binary);
  copy.seekg(512 * 1024 * 1024);
  std::string word(7, '\0');
  copy.read(word.data(), 7);
  EXPECT_EQ(word, "payload");
  EXPECT_EQ(fs::file_size(dir_.path() / "pool" / "snap.img"), kGiB);
  EXPECT_EQ(error("/disk add type=file copy-from=[find slot=nothing] "
                  "file-path=/storage-pool/x.img slot=x"),
            "no such item\n");
}

TEST_F(DiskCommandsTest, WhereMatchesRegexes) {
  addDisk("pvc-a");
  addDisk("pvc-b");
  addDisk("other");
  EXPECT_EQ(ok("/disk print count-only where slot~\"^pvc-\""), "2\n");
  EXPECT_EQ(ok("/disk print count-only where nvme-tcp-export"), "3\n");
  EXPECT_EQ(error("/disk print detail where bogus=1"),
            "expected end of command (line 1 column 26)\n");
}

TEST_F(DiskCommandsTest, FaultsFailDelayAndFillTheDisk) {
  ok("/polycsi-sim fault fail-next=yes");
  EXPECT_EQ(error("/disk print"), "failure: simulated failure\n");
  ok("/disk print");
  ok("/polycsi-sim fault disk-full=yes");
  EXPECT_EQ(error("/disk add type=file file-path=/storage-pool/x.img file-size=1M slot=x"),
            "failure: not enough space\n");
  ok("/polycsi-sim fault reset drop-after=1");
  EXPECT_FALSE(run("/disk print").drop_connection);
  EXPECT_TRUE(run("/disk print").drop_connection);
  EXPECT_FALSE(run("/disk print").drop_connection);
}

TEST_F(DiskCommandsTest, DropReplyAfterRunsTheCommandAndLosesOnlyItsReply) {
  EXPECT_NE(ok("/polycsi-sim fault drop-reply-after=2").find("drop-reply-after=2"),
            std::string::npos);
  const CommandOutcome first = run("/disk print count-only");
  EXPECT_FALSE(first.drop_connection);
  const CommandOutcome lost =
      run("/disk add type=file file-path=/storage-pool/lost.img file-size=1M slot=lost");
  EXPECT_TRUE(lost.drop_connection);
  EXPECT_TRUE(lost.ran_before_drop);
  // The change took effect although its reply is lost, and the fault was one shot.
  const CommandOutcome after = run("/disk print count-only where slot=lost");
  EXPECT_FALSE(after.drop_connection);
  EXPECT_EQ(after.output, "1\n");
  EXPECT_NE(ok("/polycsi-sim fault").find("drop-reply-after=0"), std::string::npos);
}

TEST_F(DiskCommandsTest, HoldAfterKeepsTheCommandUnrunUntilTheFaultsChange) {
  EXPECT_NE(ok("/polycsi-sim fault hold-after=2").find("hold-after=2"), std::string::npos);
  ok("/disk print count-only");
  // The second command is held on another thread, as a connection's thread would be.
  auto held = std::async(std::launch::async, [this] {
    return run("/disk add type=file file-path=/storage-pool/held.img file-size=1M slot=held");
  });
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "the command was not held";
  // The fault was one shot and control commands pass: reading the settings releases nothing,
  // resetting them does.
  EXPECT_NE(ok("/polycsi-sim fault").find("hold-after=0"), std::string::npos);
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  ok("/polycsi-sim fault reset");
  const CommandOutcome released = held.get();
  EXPECT_TRUE(released.drop_connection);
  EXPECT_FALSE(released.ran_before_drop);
  EXPECT_EQ(ok("/disk print count-only where slot=held"), "0\n") << "a held command never runs";
  EXPECT_FALSE(run("/disk print").drop_connection);
}

TEST_F(DiskCommandsTest, HoldCopyHoldsOnlyTheCopyThenRunsIt) {
  ok("/disk add type=file file-path=/storage-pool/src.img file-size=1M slot=src");
  EXPECT_NE(ok("/polycsi-sim fault hold-copy=yes").find("hold-copy=yes copy-commands=0"),
            std::string::npos);
  auto held = std::async(std::launch::async, [this] {
    return run(
        "/disk add type=file copy-from=[find slot=src] file-path=/storage-pool/copy.img "
        "slot=copy");
  });
  // The copy arrived (bounded polling) and is held; every other command still runs.
  bool arrived = false;
  for (int i = 0; i < 400 && !arrived; ++i) {
    arrived = ok("/polycsi-sim fault").find("copy-commands=1") != std::string::npos;
    if (!arrived) std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  ASSERT_TRUE(arrived);
  EXPECT_EQ(ok("/disk print count-only where slot=copy"), "0\n");
  ok("/disk add type=file file-path=/storage-pool/other.img file-size=1M slot=other");
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  ok("/polycsi-sim fault hold-copy=no");  // released: the copy runs and answers
  const CommandOutcome copied = held.get();
  EXPECT_FALSE(copied.drop_connection);
  EXPECT_EQ(copied.exit_status, 0) << copied.output;
  EXPECT_EQ(ok("/disk print count-only where slot=copy"), "1\n");
  EXPECT_NE(ok("/polycsi-sim fault").find("hold-copy=no copy-commands=1"), std::string::npos);
}

TEST_F(DiskCommandsTest, DropAfterNeverRunsTheDroppedCommand) {
  ok("/polycsi-sim fault drop-after=0 drop-reply-after=0");
  ok("/polycsi-sim fault drop-after=1");
  ok("/disk print");
  const CommandOutcome dropped =
      run("/disk add type=file file-path=/storage-pool/never.img file-size=1M slot=never");
  EXPECT_TRUE(dropped.drop_connection);
  EXPECT_FALSE(dropped.ran_before_drop);
  EXPECT_EQ(ok("/disk print count-only where slot=never"), "0\n");
}

}  // namespace
}  // namespace rds_sim
