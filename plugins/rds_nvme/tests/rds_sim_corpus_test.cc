// rds-sim against the corpus of published RouterOS replies (fixtures/routeros/): the plugin's
// own commands run through rds-sim's command processor (in process, no SSH), and what it prints
// is read back with the plugin's parser and compared with what a real RDS printed: the same
// properties in the same order, the same empty replies, and error texts of the same form that
// the plugin maps to the same codes. A simulator kinder or chattier than the box fails here.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "disk_commands.hpp"
#include "print_detail_parser.hpp"
#include "routeros_command.hpp"
#include "routeros_errors.hpp"
#include "routeros_fixture.hpp"
#include "temp_directory.hpp"

namespace polycsi::rds_nvme {
namespace {

using corpus::loadRouterOsFixture;
using corpus::RouterOsFixture;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr int kWideTerminal = 240;  // the transcripts come from wide terminals

std::vector<std::string> keysOf(const DiskEntry& e) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : e.properties()) keys.emplace_back(key);
  return keys;
}

// The one entry of a fixture (or of its entry `index`).
DiskEntry fixtureEntry(const std::string& name, size_t index = 0) {
  const auto entries = parseDiskPrintDetail(loadRouterOsFixture(name).output);
  if (entries.size() <= index) throw std::runtime_error(name + " has too few entries");
  return entries[index];
}

class RdsSimCorpusTest : public ::testing::Test {
 protected:
  RdsSimCorpusTest()
      : store_(dir_.path() / "state",
               {rds_sim::Pool{"storage-pool", makePoolDir(dir_), 20 * kGiB}}),
        processor_(store_, faults_, nullptr, rds_sim::CommandProcessorOptions{"0.0.0.0", "\r\n"}) {}

  // The pool's directory, made before the store that is built on it.
  static std::filesystem::path makePoolDir(const polycsi::testing::TempDir& dir) {
    std::filesystem::create_directories(dir.path() / "pool");
    return dir.path() / "pool";
  }

  CommandReply run(const std::string& line) {
    const rds_sim::CommandOutcome outcome = processor_.execute(line, kWideTerminal);
    return {outcome.exit_status, outcome.output, ""};
  }

  // Adds an exported disk the way the plugin does (RdsClient::addDisk's command).
  void addDisk(const std::string& slot, int64_t bytes) {
    const auto name = SlotName::parse(slot, "slot");
    RouterOsCommand add = RouterOsCommand::addDisk();
    add.filePath(DiskPath::parse("/storage-pool/" + slot + ".img", "path"))
        .fileSize(DiskSize::roundUp(bytes))
        .slot(name)
        .nvmeTcpExport(true)
        .nvmeTcpServerPort(PortNumber::of(4420, "port"))
        .nvmeTcpServerNqn(Nqn::parse("nqn.2000-02.com.mikrotik:" + slot, "nqn"));
    const CommandReply reply = run(add.text());
    ASSERT_EQ(reply.exitStatus, 0) << add.text() << " -> " << reply.output;
    // Success prints nothing, as on the box (disk_change_success_empty.txt).
    EXPECT_EQ(reply.output, loadRouterOsFixture("disk_change_success_empty.txt").output);
  }

  polycsi::testing::TempDir dir_{"polycsi-rds-sim-corpus"};
  rds_sim::DiskStore store_;
  rds_sim::FaultInjector faults_;
  rds_sim::CommandProcessor processor_;
};

TEST_F(RdsSimCorpusTest, AFileDiskPrintsThePropertiesARealRdsPrints) {
  addDisk("pvc-1", 10 * DiskSize::kGiB);
  const auto slot = SlotName::parse("pvc-1", "slot");
  const CommandReply reply = run(RouterOsCommand::printDiskBySlot(slot).text());
  ASSERT_EQ(classifyReply(reply, "print"), std::nullopt) << reply.output;
  const auto entries = parseDiskPrintDetail(reply.output);
  ASSERT_EQ(entries.size(), 1u);
  const DiskEntry real = fixtureEntry("disk_where_slot_rds2216.txt");
  EXPECT_EQ(keysOf(entries[0]), keysOf(real));
  EXPECT_EQ(entries[0].flags, real.flags);  // "Bt"
  EXPECT_EQ(entries[0].getOr("slot"), "pvc-1");
  EXPECT_EQ(entries[0].getOr("file-size"), "10.0GiB");
  EXPECT_EQ(entries[0].getOr("size"), "10 737 418 240");
  EXPECT_EQ(entries[0].getOr("nvme-tcp-server-nqn"), "nqn.2000-02.com.mikrotik:pvc-1");
  EXPECT_EQ(entries[0].get("nvme-tcp-server-allow-host-name"), "");
  // The header names only the flags shown, with `; ` between them, as on the box.
  const std::string realHeader = loadRouterOsFixture("disk_where_slot_rds2216.txt").output;
  EXPECT_EQ(reply.output.substr(0, reply.output.find('\r')),
            realHeader.substr(0, realHeader.find('\n')));
}

TEST_F(RdsSimCorpusTest, ThePoolPrintsThePropertiesOfARealMountedRaid) {
  addDisk("pvc-1", DiskSize::kGiB);
  const CommandReply reply =
      run(RouterOsCommand::printDiskByMountPoint(MountPoint::parse("storage-pool", "pool")).text());
  ASSERT_EQ(classifyReply(reply, "print"), std::nullopt) << reply.output;
  const auto entries = parseDiskPrintDetail(reply.output);
  ASSERT_EQ(entries.size(), 1u);
  const DiskEntry real = fixtureEntry("disk_where_slot_regex_raid_rds2216.txt");
  EXPECT_EQ(keysOf(entries[0]), keysOf(real));
  EXPECT_EQ(entries[0].flags, real.flags);  // "BM"
  EXPECT_EQ(entries[0].bytes("size"), int64_t{20} << 30);
  EXPECT_EQ(entries[0].bytes("free"), int64_t{19} << 30);
  EXPECT_EQ(entries[0].getOr("mount-point"), "storage-pool");
}

TEST_F(RdsSimCorpusTest, NothingMatchingPrintsNothing) {
  const std::string empty = loadRouterOsFixture("disk_where_slot_empty.txt").output;
  const CommandReply bySlot =
      run(RouterOsCommand::printDiskBySlot(SlotName::parse("pvc-absent", "slot")).text());
  EXPECT_EQ(bySlot.exitStatus, 0);
  EXPECT_EQ(bySlot.output, empty);
  const CommandReply byPrefix =
      run(RouterOsCommand::printDisksWithSlotPrefix(SlotPrefix::parse("pvc-", "prefix")).text());
  EXPECT_EQ(byPrefix.output, empty);
  const CommandReply files =
      run(RouterOsCommand::printFilesNamedLike(SlotName::parse("pvc-absent", "slot")).text());
  EXPECT_EQ(files.output, empty);
}

TEST_F(RdsSimCorpusTest, AnImageFilePrintsLikeRouterOs7Files) {
  addDisk("pvc-1", DiskSize::kGiB);
  const CommandReply reply =
      run(RouterOsCommand::printFilesNamedLike(SlotName::parse("pvc-1", "slot")).text());
  ASSERT_EQ(classifyReply(reply, "print"), std::nullopt) << reply.output;
  const auto entries = parseDiskPrintDetail(reply.output);
  ASSERT_EQ(entries.size(), 1u);
  // RouterOS 7.16's `file print detail` (help.mikrotik.com Files): name type size last-modified.
  const DiskEntry real = fixtureEntry("file_print_detail_routeros_7_16.txt", 5);
  EXPECT_EQ(keysOf(entries[0]), keysOf(real));
  EXPECT_EQ(entries[0].getOr("name"), "storage-pool/pvc-1.img");  // no leading slash
  EXPECT_EQ(entries[0].getOr("type"), ".img file");
  EXPECT_EQ(entries[0].getOr("size"), "1024.0MiB");
  EXPECT_TRUE(std::regex_match(entries[0].getOr("last-modified"),
                               std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")));
}

// Each error rds-sim prints has the form of a published RouterOS error text and gets the code
// the plugin gives that text.
TEST_F(RdsSimCorpusTest, ErrorsHaveTheFormOfRealRouterOsErrors) {
  addDisk("pvc-1", DiskSize::kGiB);
  struct Case {
    std::string command;  // what rds-sim is asked
    std::string fixture;  // the published error of that kind
    std::string form;     // what both must match
  };
  const std::vector<Case> cases = {
      {"/disk frobnicate", "error_bad_command_name.txt",
       R"(bad command name [a-z-]+ \(line \d+ column \d+\))"},
      {"/disk set [find slot=\"pvc-1\"] frob=1", "error_expected_end_of_command.txt",
       R"(expected end of command \(line \d+ column \d+\))"},
      {"/disk set [find slot=\"pvc-1\"] nvme-tcp-export=maybe", "error_input_does_not_match.txt",
       R"(input does not match any value of [a-z-]+)"},
      {"/disk remove 7", "error_no_such_item.txt", R"(no such item)"},
      {"/disk set [find slot=\"pvc-1\"] file-size=100G", "error_not_enough_space.txt",
       R"(failure: not enough space)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command);
    const RouterOsFixture real = loadRouterOsFixture(c.fixture);
    const std::regex form(c.form);
    const std::string realLine = real.output.substr(0, real.output.find('\n'));
    ASSERT_TRUE(std::regex_match(realLine, form)) << c.fixture << ": " << realLine;
    const CommandReply reply = run(c.command);
    EXPECT_EQ(reply.exitStatus, 1);
    const std::string simLine = reply.output.substr(0, reply.output.find('\r'));
    EXPECT_TRUE(std::regex_match(simLine, form)) << simLine;
    const auto simFailure = classifyReply(reply, c.command);
    const auto realFailure = classifyReply({real.exitStatus, real.output, ""}, c.command);
    ASSERT_TRUE(simFailure.has_value());
    ASSERT_TRUE(realFailure.has_value());
    EXPECT_EQ(simFailure->code(), realFailure->code());
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme
