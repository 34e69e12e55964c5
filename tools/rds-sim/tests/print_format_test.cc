#include "print_format.hpp"

#include <gtest/gtest.h>

namespace rds_sim {
namespace {

// The file disk of the sample in /work/shared/routeros-notes.md (from a real RDS).
PrintEntry notesSampleEntry() {
  PrintEntry entry;
  entry.index = 0;
  auto add = [&entry](const char* name, const char* value, ValueStyle style) {
    entry.properties.push_back(PrintProperty{name, value, style, ""});
  };
  add("type", "file", ValueStyle::kAuto);
  add("slot", "pvc-test-123", ValueStyle::kQuoted);
  add("slot-default", "", ValueStyle::kQuoted);
  add("parent", "", ValueStyle::kQuoted);
  add("fs", "-", ValueStyle::kAuto);
  add("model", "/storage-pool/test.img", ValueStyle::kQuoted);
  add("size", "53 687 091 200", ValueStyle::kRaw);
  add("mount-filesystem", "yes", ValueStyle::kAuto);
  add("mount-read-only", "no", ValueStyle::kAuto);
  add("compress", "no", ValueStyle::kAuto);
  add("sector-size", "512", ValueStyle::kAuto);
  add("raid-master", "none", ValueStyle::kAuto);
  add("nvme-tcp-export", "yes", ValueStyle::kAuto);
  add("nvme-tcp-server-port", "4420", ValueStyle::kAuto);
  add("nvme-tcp-server-nqn", "nqn.2000-02.com.mikrotik:pvc-test-123", ValueStyle::kQuoted);
  add("nvme-tcp-server-allow-host-name", "", ValueStyle::kQuoted);
  add("iscsi-export", "no", ValueStyle::kAuto);
  add("nfs-sharing", "no", ValueStyle::kAuto);
  add("smb-sharing", "no", ValueStyle::kAuto);
  add("media-sharing", "no", ValueStyle::kAuto);
  add("media-interface", "none", ValueStyle::kAuto);
  add("swap", "no", ValueStyle::kAuto);
  add("file-path", "/storage-pool/test.img", ValueStyle::kAuto);
  add("file-size", "50.0GiB", ValueStyle::kAuto);
  add("file-offset", "0", ValueStyle::kAuto);
  return entry;
}

TEST(PrintDetail, ReproducesTheNotesSampleExactly) {
  const std::string expected =
      " 0  type=file slot=\"pvc-test-123\" slot-default=\"\" parent=\"\" fs=-\n"
      "    model=\"/storage-pool/test.img\"\n"
      "    size=53 687 091 200 mount-filesystem=yes mount-read-only=no\n"
      "    compress=no sector-size=512 raid-master=none\n"
      "    nvme-tcp-export=yes nvme-tcp-server-port=4420\n"
      "    nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:pvc-test-123\"\n"
      "    nvme-tcp-server-allow-host-name=\"\" iscsi-export=no\n"
      "    nfs-sharing=no smb-sharing=no media-sharing=no\n"
      "    media-interface=none swap=no\n"
      "    file-path=/storage-pool/test.img\n"
      "    file-size=50.0GiB file-offset=0\n";
  // /disk has flags; this entry shows none, so the flag column is empty (` 0  type=`).
  const std::vector<FlagLegend> legend = {{'B', "BLOCK-DEVICE"}, {'t', "NVME-TCP-EXPORT"}};
  EXPECT_EQ(formatPrintDetail({notesSampleEntry()}, legend, 64, "\n"), expected);
}

TEST(PrintDetail, ReproducesAWideRealOutputWithFlags) {
  // `/disk/print detail` of a 1T file disk on an RDS console 240 columns wide.
  PrintEntry entry = notesSampleEntry();
  entry.index = 31;
  entry.flags = "Bt";
  entry.properties[1].value = "vm-storage-001";
  entry.properties[7].value = "no";
  entry.properties[5].value = "/raid10/vm-storage-001.img";
  entry.properties[6].value = "1 099 511 627 776";
  entry.properties[14].value = "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001";
  entry.properties[22].value = "/raid10/vm-storage-001.img";
  entry.properties[23].value = "1024.0GiB";
  const std::vector<FlagLegend> legend = {
      {'B', "BLOCK-DEVICE"}, {'M', "MOUNTED"}, {'t', "NVME-TCP-EXPORT"}};
  const std::string expected =
      "Flags: B - BLOCK-DEVICE; t - NVME-TCP-EXPORT\n"
      "31 Bt type=file slot=\"vm-storage-001\" slot-default=\"\" parent=\"\" fs=- "
      "model=\"/raid10/vm-storage-001.img\" size=1 099 511 627 776 mount-filesystem=no "
      "mount-read-only=no compress=no sector-size=512 raid-master=none nvme-tcp-export=yes\n"
      "      nvme-tcp-server-port=4420 "
      "nvme-tcp-server-nqn=\"nqn.2026-09.com.mikrotik:rds2216.vm-storage-001\" "
      "nvme-tcp-server-allow-host-name=\"\" iscsi-export=no nfs-sharing=no smb-sharing=no "
      "media-sharing=no media-interface=none swap=no\n"
      "      file-path=/raid10/vm-storage-001.img file-size=1024.0GiB file-offset=0\n";
  EXPECT_EQ(formatPrintDetail({entry}, legend, 240, "\n"), expected);
}

TEST(PrintDetail, AlignsFlagColumnsAndSeparatesEntries) {
  PrintEntry pool{0, "BM", "", {{"slot", "storage-pool", ValueStyle::kQuoted, ""}}};
  PrintEntry disk{1, "B", "a note", {{"slot", "a b", ValueStyle::kAuto, ""}}};
  const std::vector<FlagLegend> legend = {
      {'B', "BLOCK-DEVICE"}, {'M', "MOUNTED"}, {'t', "NVME-TCP-EXPORT"}};
  EXPECT_EQ(formatPrintDetail({pool, disk}, legend, 80, "\r\n"),
            "Flags: B - BLOCK-DEVICE; M - MOUNTED\r\n"
            " 0 BM slot=\"storage-pool\"\r\n"
            " \r\n"
            " 1 B  ;;; a note\r\n"
            "      slot=\"a b\"\r\n");
}

TEST(PrintDetail, MenusWithoutFlagsHaveNoFlagColumn) {
  PrintEntry file{
      0,
      "",
      "",
      {{"name", "flash", ValueStyle::kAuto, ""}, {"type", "disk", ValueStyle::kRaw, ""}}};
  EXPECT_EQ(formatPrintDetail({file}, {}, 80, "\n"), " 0 name=flash type=disk\n");
}

TEST(PrintTerse, PutsEachEntryOnOneLine) {
  EXPECT_EQ(formatPrintTerse({notesSampleEntry()}, {}, "\n").find('\n'),
            formatPrintTerse({notesSampleEntry()}, {}, "\n").size() - 1);
}

TEST(PrintTable, PadsColumns) {
  PrintEntry a{
      0, "", "", {{"slot", "a", ValueStyle::kQuoted, ""}, {"size", "1", ValueStyle::kRaw, ""}}};
  PrintEntry b{1, "", "", {{"slot", "longer", ValueStyle::kQuoted, ""}}};
  EXPECT_EQ(formatPrintTable({a, b}, {}, {"slot", "size"}, "\n"),
            "Columns: SLOT, SIZE\n"
            "#  SLOT    SIZE\n"
            "0  a       1\n"
            "1  longer\n");
}

}  // namespace
}  // namespace rds_sim
