#include "print_detail_parser.hpp"

#include <gtest/gtest.h>

#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {
namespace {

// The shape of a real RDS reply (routeros-notes / field output).
constexpr char kRealSample[] = R"(Flags: X - disabled ...
 0  type=file slot="pvc-test-123" slot-default="" parent="" fs=-
    model="/storage-pool/test.img"
    size=53 687 091 200 mount-filesystem=yes mount-read-only=no
    compress=no sector-size=512 raid-master=none
    nvme-tcp-export=yes nvme-tcp-server-port=4420
    nvme-tcp-server-nqn="nqn.2000-02.com.mikrotik:pvc-test-123"
    nvme-tcp-server-allow-host-name="" iscsi-export=no
    nfs-sharing=no smb-sharing=no media-sharing=no
    media-interface=none swap=no
    file-path=/storage-pool/test.img
    file-size=50.0GiB file-offset=0
)";

TEST(PrintDetailParser, ParsesTheRealSample) {
  auto entries = parseDiskPrintDetail(kRealSample);
  ASSERT_EQ(entries.size(), 1u);
  const DiskEntry& e = entries[0];
  EXPECT_EQ(e.index, 0);
  EXPECT_EQ(e.flags, "");
  EXPECT_EQ(e.getOr("slot"), "pvc-test-123");
  EXPECT_EQ(e.getOr("slot-default"), "");
  EXPECT_EQ(e.getOr("fs"), "-");
  EXPECT_EQ(e.getOr("size"), "53 687 091 200");
  EXPECT_EQ(e.bytes("size"), int64_t{53687091200});
  EXPECT_EQ(e.bytes("file-size"), int64_t{50} << 30);
  EXPECT_EQ(e.getOr("nvme-tcp-server-nqn"), "nqn.2000-02.com.mikrotik:pvc-test-123");
  EXPECT_EQ(e.getOr("nvme-tcp-server-allow-host-name"), "");
  EXPECT_EQ(e.getOr("file-path"), "/storage-pool/test.img");
  EXPECT_EQ(e.flag("nvme-tcp-export"), true);
  EXPECT_EQ(e.flag("swap"), false);
  EXPECT_EQ(e.propertyCount(), 25u);
}

TEST(PrintDetailParser, SameEntryWrappedAtAnotherWidthGivesTheSameProperties) {
  constexpr char kWide[] =
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT\n"
      "31 Bt type=file slot=\"vm-storage-001\" slot-default=\"\" parent=\"\" fs=- "
      "model=\"/raid10/vm-storage-001.img\" size=1 099 511 627 776 mount-filesystem=no "
      "nvme-tcp-export=yes\n"
      "      nvme-tcp-server-port=4420 nvme-tcp-server-nqn=\"nqn.2026-09.com.mikrotik:rds2216.vm-"
      "storage-001\" nvme-tcp-server-allow-host-name=\"\" swap=no\n"
      "      file-path=/raid10/vm-storage-001.img file-size=1024.0GiB file-offset=0\n";
  constexpr char kNarrow[] =
      "Flags: B - BLOCK-DEVICE;\n"
      "  t - NVME-TCP-EXPORT\n"
      "31 Bt type=file\n"
      "      slot=\"vm-storage-001\"\n"
      "      slot-default=\"\" parent=\"\" fs=-\n"
      "      model=\"/raid10/vm-storage-001.img\" size=1 099\n"
      "      511 627 776\n"
      "      mount-filesystem=no nvme-tcp-export=yes nvme-tcp-server-port=4420\n"
      "      nvme-tcp-server-nqn=\"nqn.2026-09.com.mikrotik:rds2216.vm-storage-001\"\n"
      "      nvme-tcp-server-allow-host-name=\"\" swap=no file-path=/raid10/vm-storage-001.img\n"
      "      file-size=1024.0GiB\n"
      "      file-offset=0\n";
  auto wide = parseDiskPrintDetail(kWide);
  auto narrow = parseDiskPrintDetail(kNarrow);
  ASSERT_EQ(wide.size(), 1u);
  ASSERT_EQ(narrow.size(), 1u);
  EXPECT_EQ(narrow[0].index, 31);
  EXPECT_EQ(narrow[0].flags, "Bt");
  EXPECT_TRUE(narrow[0].hasFlag('t'));
  EXPECT_EQ(narrow[0].bytes("size"), int64_t{1} << 40);
  EXPECT_EQ(narrow[0].properties(), wide[0].properties());
  EXPECT_EQ(narrow[0].getOr("nvme-tcp-server-nqn"),
            "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001");
}

TEST(PrintDetailParser, SeveralEntriesWithFlagsDisabledAndBlankLines) {
  constexpr char kOutput[] =
      "Flags: X - disabled; t - nvme-tcp-export\n"
      " 0 X  type=file slot=\"pvc-a\" size=1 048 576\n"
      "      file-size=1.0MiB\n"
      "\n"
      " 1  t type=file slot=\"pvc-b\" size=2 147 483 648 file-size=2.0GiB\n"
      "\n"
      " 9  t type=file slot=\"pvc-c\" size=1 073 741 824\n"
      "10  t type=file slot=\"pvc-d\" size=512\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_TRUE(entries[0].disabled());
  EXPECT_FALSE(entries[1].disabled());
  EXPECT_EQ(entries[1].flags, "t");
  EXPECT_EQ(entries[0].bytes("size"), 1048576);
  EXPECT_EQ(entries[1].bytes("size"), int64_t{2} << 30);
  EXPECT_EQ(entries[2].index, 9);
  EXPECT_EQ(entries[3].index, 10);
  EXPECT_EQ(entries[3].bytes("size"), 512);
}

TEST(PrintDetailParser, SpacedDigitsWrappedAtEqualIndentationContinueTheNumber) {
  // No indentation at all: "200" must continue size, not start entry 200.
  constexpr char kOutput[] =
      "0 type=file slot=\"x\" size=53 687 091\n"
      "200 file-offset=0\n"
      "1 type=file slot=\"y\" size=7\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].bytes("size"), int64_t{53687091200});
  EXPECT_EQ(entries[0].getOr("file-offset"), "0");
  EXPECT_EQ(entries[1].getOr("slot"), "y");
}

// Found by the soak test (tests/reliability): with 100 disks or more the numbers are
// right-aligned to three columns, so entry 100 onwards starts at column 0, and every entry
// ends in file-offset=0. Entries 101.. were read as the previous entry's digits, and
// ListVolumes lost every disk from the 101st on.
TEST(PrintDetailParser, EntriesFromOneHundredOnAreNotDigitsOfTheEntryBefore) {
  std::string output = "Flags: M - MOUNTED\n";
  for (int i = 0; i < 150; ++i) {
    std::string number = std::to_string(i);
    output += std::string(3 - number.size(), ' ') + number + " type=file slot=\"pvc-" + number +
              "\" size=1 073 741 824\n    file-path=/pool/" + number + ".img file-offset=0\n";
  }
  auto entries = parseDiskPrintDetail(output);
  ASSERT_EQ(entries.size(), 150u);
  EXPECT_EQ(entries[100].getOr("slot"), "pvc-100");
  EXPECT_EQ(entries[149].getOr("slot"), "pvc-149");
  EXPECT_EQ(entries[149].getOr("file-offset"), "0");
}

// The same with every entry on one line (a wide terminal): the next number in sequence is an
// entry even where the line before ends in a number.
TEST(PrintDetailParser, OneLineEntriesInSequenceAfterANumber) {
  std::string output;
  for (int i = 98; i < 103; ++i)
    output += (i < 100 ? " " : "") + std::to_string(i) + " type=file slot=\"s" + std::to_string(i) +
              "\" size=1 048 576\n";
  auto entries = parseDiskPrintDetail(output);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[3].index, 101);
  EXPECT_EQ(entries[4].bytes("size"), 1048576);
}

TEST(PrintDetailParser, QuotedValuesWithSpacesAndEscapes) {
  constexpr char kOutput[] =
      " 0   ;;; made by \"ops\" team\n"
      "     type=file slot=\"a b\" model=\"say \\\"hi\\\" \\\\ done\" parent=\"tab\\there\" "
      "serial=\"\\41\\42\" fs=-\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].comment, "made by \"ops\" team");
  EXPECT_EQ(entries[0].getOr("slot"), "a b");
  EXPECT_EQ(entries[0].getOr("model"), "say \"hi\" \\ done");
  EXPECT_EQ(entries[0].getOr("parent"), "tab\there");
  EXPECT_EQ(entries[0].getOr("serial"), "AB");
}

// Found by fuzzing (tests/fuzz/rds_print_detail_fuzz): a hex escape mixing a digit and a
// capital letter ("\4C", "\1D", "\C3") was read as two plain characters.
TEST(PrintDetailParser, HexEscapesMixDigitsAndCapitalLetters) {
  constexpr char kOutput[] =
      " 0 comment=\"\\48\\45\\4C\\4C\\4F\" name=\"caf\\C3\\A9\" type=\"file\\1D\" "
      "bell=\"\\ab\"\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].getOr("comment"), "HELLO");
  EXPECT_EQ(entries[0].getOr("name"), "caf\xC3\xA9");
  EXPECT_EQ(entries[0].getOr("type"), "file\x1D");
  // Lower-case letters are the named escapes, never hex: "\ab" is BEL and 'b'.
  EXPECT_EQ(entries[0].getOr("bell"), "\ab");
}

TEST(PrintDetailParser, BareValuesWithSpacesAsFilePrintShowsThem) {
  constexpr char kOutput[] =
      " 0 name=storage-pool/kubernetes-volumes/pvc-1.img type=.img file size=10.0GiB "
      "last-modified=2024-11-25 13:14:28\n"
      "\n"
      " 1 name=flash/skins type=directory last-modified=2024-11-25 13:10:52\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].getOr("type"), ".img file");
  EXPECT_EQ(entries[0].getOr("last-modified"), "2024-11-25 13:14:28");
  EXPECT_EQ(entries[0].bytes("size"), int64_t{10} << 30);
  EXPECT_EQ(entries[1].getOr("name"), "flash/skins");
}

// Entries printed without their number (fixtures/routeros/disk_where_slot_unnumbered.txt and
// the other *_unnumbered fixtures show one; here two, the first with a flag the legend names).
TEST(PrintDetailParser, UnnumberedEntriesStartAtTheTopOrAfterABlankLine) {
  constexpr char kOutput[] =
      "Flags: X - disabled; t - NVME-TCP-EXPORT\n"
      "X  type=file slot=\"a\"\n"
      "   size=1 024\n"
      "\n"
      "type=file slot=\"b\" size=2 048\n";
  auto entries = parseDiskPrintDetail(kOutput);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].index, DiskEntry::kUnnumbered);
  EXPECT_TRUE(entries[0].disabled());
  EXPECT_EQ(entries[0].bytes("size"), 1024);
  EXPECT_EQ(entries[1].flags, "");
  EXPECT_EQ(entries[1].getOr("slot"), "b");
  EXPECT_EQ(entries[1].bytes("size"), 2048);
  // Letters the legend does not name, and text that is no property, are still refused.
  for (const char* text : {"Flags: X - disabled\nQ type=file slot=\"a\"\n", "hello world\n",
                           "Flags: X - disabled\nX hello\n"}) {
    EXPECT_THROW(parseDiskPrintDetail(text), Error) << text;
  }
}

TEST(PrintDetailParser, EmptyOutputAndHeaderOnlyGiveNoEntries) {
  EXPECT_TRUE(parseDiskPrintDetail("").empty());
  EXPECT_TRUE(parseDiskPrintDetail("\r\n\n").empty());
  EXPECT_TRUE(parseDiskPrintDetail("Flags: X - disabled, B - block-device\n").empty());
  EXPECT_TRUE(parseDiskPrintDetail("Flags: X - DISABLED\r\n  M - MOUNTED\r\n\r\n").empty());
}

TEST(PrintDetailParser, CarriageReturnsAreIgnored) {
  auto entries = parseDiskPrintDetail(" 0  type=file slot=\"pvc-1\"\r\n    size=1 024\r\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].bytes("size"), 1024);
}

TEST(PrintDetailParser, ErrorRepliesAndGarbageAreInternalErrors) {
  for (const char* text :
       {"failure: not enough space", "no such item", "expected end of command (line 1 column 5)",
        "syntax error (line 1)", " 0 type=file slot=\"unterminated\n", " 0 type=file =oops\n"}) {
    try {
      parseDiskPrintDetail(text);
      ADD_FAILURE() << "parsed: " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kInternal) << text;
    }
  }
}

TEST(PrintDetailParser, TypedAccessorsRefuseWhatIsNotASize) {
  auto entries = parseDiskPrintDetail(" 0 size=lots file-size=12.5GiB use=25%\n");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_THROW(entries[0].bytes("size"), Error);
  EXPECT_EQ(entries[0].bytes("file-size"), (int64_t{25} << 30) / 2);
  EXPECT_EQ(entries[0].bytes("absent"), std::nullopt);
  EXPECT_EQ(entries[0].flag("use"), std::nullopt);
}

TEST(PrintDetailParser, RdsDiskTypesThePropertiesThePluginReads) {
  auto disks = parseRdsDisks(kRealSample);
  ASSERT_EQ(disks.size(), 1u);
  const RdsDisk& d = disks[0];
  EXPECT_EQ(d.slot, "pvc-test-123");
  EXPECT_EQ(d.filePath, "/storage-pool/test.img");
  EXPECT_EQ(d.sizeBytes, int64_t{53687091200});
  EXPECT_EQ(d.fileSizeBytes, int64_t{50} << 30);
  EXPECT_EQ(d.freeBytes, std::nullopt);
  EXPECT_EQ(d.mountPoint, "");
  EXPECT_EQ(d.nvmeTcpServerNqn, "nqn.2000-02.com.mikrotik:pvc-test-123");
  EXPECT_EQ(d.nvmeTcpServerPort, "4420");
  EXPECT_EQ(d.allowedHostNames, "");
}

TEST(PrintDetailParser, RdsDiskOfAPoolAndOfADiskWithoutExport) {
  auto disks = parseRdsDisks(
      " 0 slot=storage-pool mount-point=storage-pool size=1.0TiB free=512.0GiB\n"
      " 1 slot=pvc-2 file-path=storage-pool/pvc-2.img file-size=1.0GiB\n"
      "   nvme-tcp-server-allow-host-name=nqn.a,nqn.b\n");
  ASSERT_EQ(disks.size(), 2u);
  EXPECT_EQ(disks[0].mountPoint, "storage-pool");
  EXPECT_EQ(disks[0].sizeBytes, int64_t{1} << 40);
  EXPECT_EQ(disks[0].freeBytes, int64_t{512} << 30);
  EXPECT_EQ(disks[1].slot, "pvc-2");
  EXPECT_EQ(disks[1].sizeBytes, std::nullopt);
  EXPECT_EQ(disks[1].fileSizeBytes, int64_t{1} << 30);
  EXPECT_EQ(disks[1].nvmeTcpServerPort, std::nullopt);
  EXPECT_EQ(disks[1].allowedHostNames, "nqn.a,nqn.b");
  EXPECT_THROW(parseRdsDisks(" 0 slot=x size=lots\n"), Error);
}

TEST(PrintDetailParser, RdsFileNamesTheFile) {
  auto files = parseRdsFiles(
      " 0 name=storage-pool/pvc-1.img type=.img file size=1073741824\n"
      " 1 name=\"storage-pool/a b.img\" size=0\n");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "storage-pool/pvc-1.img");
  EXPECT_EQ(files[1].name, "storage-pool/a b.img");
}

}  // namespace
}  // namespace polycsi::rds_nvme
