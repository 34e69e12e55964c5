// Every published RouterOS reply in fixtures/routeros/ through the plugin's own readers: print
// output through parseDiskPrintDetail (field by field), error replies through classifyReply
// (the gRPC code each maps to). Each fixture must have its check here and each check its
// fixture, so the corpus and the expectations cannot drift apart.
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <map>

#include "print_detail_parser.hpp"
#include "rds_client.hpp"
#include "routeros_errors.hpp"
#include "routeros_fixture.hpp"

namespace polycsi::rds_nvme {
namespace {

using corpus::loadRouterOsFixture;
using corpus::RouterOsFixture;
using corpus::routerOsFixtureNames;

constexpr int64_t kGiB = int64_t{1} << 30;

CommandReply replyOf(const RouterOsFixture& f) { return {f.exitStatus, f.output, ""}; }

// A print reply: a success to classifyReply, then its entries.
std::vector<DiskEntry> printed(const RouterOsFixture& f) {
  const auto failure = classifyReply(replyOf(f), f.command);
  EXPECT_FALSE(failure.has_value()) << f.name << ": " << failure->message();
  return parseDiskPrintDetail(f.output);
}

// An error reply: the code classifyReply gives it, quoting RouterOS's words; never print output.
void refused(const RouterOsFixture& f, Code code) {
  const auto failure = classifyReply(replyOf(f), f.command);
  ASSERT_TRUE(failure.has_value()) << f.name;
  EXPECT_EQ(failure->code(), code) << f.name << ": " << failure->message();
  const std::string firstLine = f.output.substr(0, f.output.find('\n'));
  EXPECT_NE(failure->message().find(firstLine), std::string::npos) << failure->message();
  try {
    parseDiskPrintDetail(f.output);
    ADD_FAILURE() << f.name << " parsed as print output";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInternal);
  }
}

std::vector<std::string> keysOf(const DiskEntry& e) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : e.properties()) keys.emplace_back(key);
  return keys;
}

using Check = std::function<void(const RouterOsFixture&)>;

const std::map<std::string, Check>& checks() {
  static const std::map<std::string, Check> table = {
      {"disk_where_slot_unnumbered.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         const DiskEntry& e = entries[0];
         EXPECT_EQ(e.index, DiskEntry::kUnnumbered);
         EXPECT_EQ(e.flags, "");
         EXPECT_EQ(e.getOr("type"), "file");
         EXPECT_EQ(e.getOr("slot"), "pvc-test-123");
         EXPECT_EQ(e.get("slot-default"), "");
         EXPECT_EQ(e.getOr("fs"), "-");
         EXPECT_EQ(e.getOr("model"), "/storage-pool/test.img");
         EXPECT_EQ(e.bytes("size"), int64_t{53687091200});
         EXPECT_EQ(e.bytes("file-size"), 50 * kGiB);
         EXPECT_EQ(RdsClient::diskBytes(parseRdsDisk(e)), int64_t{53687091200});
         EXPECT_EQ(e.flag("nvme-tcp-export"), true);
         EXPECT_EQ(e.getOr("nvme-tcp-server-port"), "4420");
         EXPECT_EQ(e.getOr("nvme-tcp-server-nqn"), "nqn.2000-02.com.mikrotik:pvc-test-123");
         EXPECT_EQ(e.get("nvme-tcp-server-allow-host-name"), "");
         EXPECT_TRUE(RdsClient::allowedHosts(parseRdsDisk(e)).empty());
         EXPECT_EQ(e.getOr("file-path"), "/storage-pool/test.img");
         EXPECT_EQ(e.getOr("file-offset"), "0");
         EXPECT_EQ(e.propertyCount(), 25u);
       }},
      {"disk_where_slot_flags_header_unnumbered.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].index, DiskEntry::kUnnumbered);
         EXPECT_FALSE(entries[0].disabled());
         EXPECT_EQ(entries[0].getOr("type"), "file");
         EXPECT_EQ(entries[0].getOr("slot"), "test");
         EXPECT_EQ(entries[0].propertyCount(), 2u);
       }},
      {"disk_where_slot_snapshot_unnumbered.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         const DiskEntry& e = entries[0];
         EXPECT_EQ(e.getOr("slot"), "snap-a1b2c3d4-e5f6-7890-abcd-ef1234567890-at-1739800000");
         EXPECT_EQ(e.getOr("file-path"),
                   "/storage-pool/metal-csi/"
                   "snap-a1b2c3d4-e5f6-7890-abcd-ef1234567890-at-1739800000.img");
         EXPECT_EQ(RdsClient::diskBytes(parseRdsDisk(e)), 50 * kGiB);  // no size=, so file-size
         EXPECT_EQ(e.find("nvme-tcp-export"), std::nullopt);
         EXPECT_EQ(e.propertyCount(), 4u);  // type slot file-path file-size
       }},
      {"disk_list_numbered.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 2u);
         EXPECT_EQ(entries[0].index, 0);
         EXPECT_EQ(entries[1].index, 1);
         EXPECT_EQ(entries[0].getOr("slot"), "pvc-test-1");
         EXPECT_EQ(entries[1].getOr("slot"), "pvc-test-2");
         EXPECT_EQ(entries[0].bytes("size"), int64_t{53687091200});
         EXPECT_EQ(entries[1].bytes("size"), int64_t{107374182400});
         EXPECT_EQ(entries[1].bytes("file-size"), 100 * kGiB);
         EXPECT_EQ(entries[1].getOr("nvme-tcp-server-nqn"), "nqn.2000-02.com.mikrotik:pvc-test-2");
         EXPECT_EQ(entries[1].getOr("file-path"), "/storage-pool/test2.img");
       }},
      {"disk_where_slot_rds2216.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         const DiskEntry& e = entries[0];
         EXPECT_EQ(e.index, 31);
         EXPECT_EQ(e.flags, "Bt");
         EXPECT_EQ(e.getOr("slot"), "vm-storage-001");
         EXPECT_EQ(e.getOr("model"), "/raid10/vm-storage-001.img");
         EXPECT_EQ(e.bytes("size"), int64_t{1} << 40);
         EXPECT_EQ(e.bytes("file-size"), int64_t{1} << 40);
         EXPECT_EQ(e.flag("nvme-tcp-export"), true);
         EXPECT_EQ(e.getOr("nvme-tcp-server-port"), "4420");
         EXPECT_EQ(e.getOr("nvme-tcp-server-nqn"),
                   "nqn.2026-09.com.mikrotik:rds2216.vm-storage-001");
         EXPECT_TRUE(RdsClient::allowedHosts(parseRdsDisk(e)).empty());
         EXPECT_EQ(e.getOr("file-path"), "/raid10/vm-storage-001.img");
         EXPECT_EQ(e.getOr("swap"), "no");
         EXPECT_EQ(e.propertyCount(), 25u);
         EXPECT_EQ(keysOf(e).front(), "type");
         EXPECT_EQ(keysOf(e).back(), "file-offset");
       }},
      {"disk_where_slot_regex_raid_rds2216.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 5u);
         for (int i = 0; i < 5; ++i) EXPECT_EQ(entries[i].index, 26 + i);
         const DiskEntry& pool = entries[0];
         EXPECT_EQ(pool.flags, "BM");
         EXPECT_EQ(pool.getOr("mount-point"), "raid10");
         EXPECT_EQ(pool.bytes("size"), int64_t{16003143565312});
         EXPECT_EQ(pool.bytes("free"), int64_t{14789895307264});
         EXPECT_EQ(pool.getOr("use"), "8%");
         EXPECT_EQ(pool.getOr("total-inodes"), "1 562 806 656");
         EXPECT_EQ(pool.getOr("model"), "RAID0 striped");
         EXPECT_EQ(pool.getOr("state"), "clean");
         EXPECT_EQ(pool.getOr("swap"), "no");
         EXPECT_EQ(pool.propertyCount(), 32u);
         EXPECT_EQ(entries[1].flags, "Br");
         EXPECT_TRUE(entries[1].hasFlag('r'));
         EXPECT_EQ(entries[1].getOr("slot"), "raid10-m0");
         EXPECT_EQ(entries[1].getOr("raid-member-state"), "0:in_sync");
         EXPECT_EQ(entries[1].getOr("media-interface"), "none");
         EXPECT_EQ(entries[4].getOr("raid-uuid"), "e8e03b13-32cbf0e1-ba36b210-c32e0583");
       }},
      {"disk_where_slot_empty.txt",
       [](const RouterOsFixture& f) { EXPECT_TRUE(printed(f).empty()); }},
      {"disk_change_success_empty.txt",
       [](const RouterOsFixture& f) { EXPECT_TRUE(printed(f).empty()); }},
      {"generic_flags_and_comments.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 7u);
         const std::vector<int> numbers = {0, 1, 2, 3, 9, 10, 11};
         for (size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(entries[i].index, numbers[i]);
         EXPECT_EQ(entries[0].flags, "R");
         EXPECT_EQ(entries[0].comment, "Management Port - 4G OOB");
         EXPECT_EQ(entries[0].getOr("name"), "ether1");
         EXPECT_EQ(entries[0].getOr("last-link-down-time"), "2024-10-08 11:14:27");
         EXPECT_EQ(entries[0].getOr("link-downs"), "166");
         EXPECT_TRUE(entries[2].disabled());
         EXPECT_EQ(entries[2].comment, "Spare Optic");
         EXPECT_EQ(entries[3].comment, "");
         EXPECT_EQ(entries[3].getOr("name"), "sfp-sfpplus3");
         EXPECT_EQ(entries[5].flags, "RS");
         EXPECT_EQ(entries[5].comment, "Link to");
         EXPECT_EQ(entries[5].getOr("name"), "sfp-sfpplus10");
         EXPECT_EQ(entries[6].getOr("last-link-up-time"), "2024-09-19 23:00:35");
       }},
      {"generic_positional_flags_trailing_blanks.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 6u);
         EXPECT_EQ(entries[0].flags, "RS");
         EXPECT_EQ(entries[0].getOr("last-link-up-time"), "2026-04-02 10:51:40");
         EXPECT_EQ(entries[0].getOr("link-downs"), "0");
         EXPECT_TRUE(entries[1].disabled());
         EXPECT_EQ(entries[3].flags, "");
         EXPECT_EQ(entries[3].getOr("name"), "l2tp-out-lte");
         EXPECT_EQ(entries[5].flags, "I");
         EXPECT_EQ(entries[5].comment, "SIM SN:40000000000000");
         EXPECT_EQ(entries[5].getOr("name"), "lte1");
         EXPECT_EQ(entries[5].getOr("link-downs"), "0");
       }},
      {"generic_multiline_comment.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].flags, "R");
         EXPECT_EQ(entries[0].comment, "CUST\nwho has a multiline comment");
         EXPECT_EQ(entries[0].getOr("name"), "vlan1@vlan602@interface");
         EXPECT_EQ(entries[0].getOr("vlan-id"), "1");
         EXPECT_EQ(entries[0].getOr("use-service-tag"), "no");
         EXPECT_EQ(entries[0].propertyCount(), 13u);
       }},
      {"generic_multiline_comment_bonding.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].comment, "Link to Mikrotik\nand other things");
         EXPECT_EQ(entries[0].getOr("name"), "bond1");
         EXPECT_EQ(entries[0].get("arp-ip-targets"), "");
         EXPECT_EQ(entries[0].getOr("slaves"), "sfp-sfpplus9,sfp-sfpplus10");
         EXPECT_EQ(entries[0].getOr("min-links"), "0");
       }},
      {"generic_wrapped_flags_legend_over_ssh.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 2u);
         EXPECT_EQ(entries[0].flags, "DL");
         EXPECT_EQ(entries[0].getOr("mac-address"), "DC:2C:6E:8C:F8:2D");
         EXPECT_EQ(entries[0].getOr("on-interface"), "bridge");
         EXPECT_EQ(entries[0].propertyCount(), 4u);
         EXPECT_EQ(entries[1].getOr("mac-address"), "DC:2C:6E:8C:F8:31");
       }},
      {"file_where_name_quoted_type.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].index, 1);
         EXPECT_EQ(entries[0].getOr("name"), "sample.txt");
         EXPECT_EQ(entries[0].getOr("type"), ".txt file");
         EXPECT_EQ(entries[0].bytes("size"), 5);
         EXPECT_EQ(entries[0].getOr("creation-time"), "oct/11/2010 12:15:38");
         EXPECT_EQ(entries[0].getOr("contents"), "Hello");
       }},
      {"file_print_detail_package_continuation.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].getOr("name"), "multicast-5.0rc2-mipsbe.npk");
         EXPECT_EQ(entries[0].bytes("size"), 245643);
         EXPECT_EQ(entries[0].getOr("package-build-time"), "oct/11/2010 06:34:02");
         EXPECT_EQ(entries[0].getOr("package-architecture"), "mips");
       }},
      {"file_print_detail_routeros_7_16.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 7u);
         EXPECT_EQ(entries[0].getOr("size"), "1924.1KiB");
         EXPECT_EQ(entries[0].getOr("last-modified"), "2024-11-25 13:14:28");
         EXPECT_EQ(entries[2].getOr("type"), "disk");
         EXPECT_EQ(entries[2].find("size"), std::nullopt);
         EXPECT_EQ(entries[4].getOr("name"), "flash/skins/newskin.json");
         EXPECT_EQ(entries[4].getOr("type"), ".json file");
         EXPECT_EQ(entries[4].bytes("size"), 0);
         EXPECT_EQ(entries[6].getOr("type"), "directory");
       }},
      {"file_list_img_files.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 3u);
         EXPECT_EQ(entries[0].getOr("type"), "directory");
         EXPECT_EQ(entries[0].getOr("last-modified"), "2025-11-11 16:47:07");
         EXPECT_EQ(entries[1].getOr("name"),
                   "storage-pool/metal-csi/pvc-ccdecfad-a8bf-572e-9120-464c4d99f12f.img");
         EXPECT_EQ(entries[1].getOr("type"), ".img file");
         EXPECT_EQ(entries[1].bytes("size"), 10 * kGiB);
         EXPECT_EQ(entries[2].bytes("size"), kGiB);
       }},
      {"file_where_name_unnumbered_wrapped_type.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].index, DiskEntry::kUnnumbered);
         EXPECT_EQ(entries[0].getOr("name"), "storage-pool/metal-csi/test.img");
         EXPECT_EQ(entries[0].getOr("type"), ".img file");
         EXPECT_EQ(entries[0].bytes("size"), 10 * kGiB);
         EXPECT_EQ(entries[0].getOr("last-modified"), "2025-11-11 14:32:41");
       }},
      {"file_where_name_directory_unnumbered.txt",
       [](const RouterOsFixture& f) {
         const auto entries = printed(f);
         ASSERT_EQ(entries.size(), 1u);
         EXPECT_EQ(entries[0].getOr("name"), "/storage-pool");
         EXPECT_EQ(entries[0].getOr("type"), "directory");
         EXPECT_EQ(entries[0].bytes("size"), int64_t{7681574174720});
         EXPECT_EQ(entries[0].bytes("free"), int64_t{5632440000000});
         EXPECT_EQ(entries[0].getOr("use"), "27%");
         EXPECT_EQ(entries[0].getOr("creation-time"), "jan/01/2025 00:00:00");
       }},
      {"error_no_such_item.txt", [](const RouterOsFixture& f) { refused(f, Code::kNotFound); }},
      {"error_failure_no_such_item.txt",
       [](const RouterOsFixture& f) { refused(f, Code::kNotFound); }},
      {"error_input_does_not_match.txt",
       [](const RouterOsFixture& f) { refused(f, Code::kInternal); }},
      {"error_expected_end_of_command.txt",
       [](const RouterOsFixture& f) { refused(f, Code::kInternal); }},
      {"error_bad_command_name.txt", [](const RouterOsFixture& f) { refused(f, Code::kInternal); }},
      {"error_expected_closing_brace.txt",
       [](const RouterOsFixture& f) { refused(f, Code::kInternal); }},
      {"error_not_enough_space.txt",
       [](const RouterOsFixture& f) { refused(f, Code::kResourceExhausted); }},
  };
  return table;
}

TEST(RouterOsCorpus, EveryFixtureHasItsCheckAndEveryCheckItsFixture) {
  std::vector<std::string> checked;
  for (const auto& [name, check] : checks()) checked.push_back(name);
  EXPECT_EQ(routerOsFixtureNames(), checked);
}

TEST(RouterOsCorpus, EveryFixtureNamesItsCommandAndSource) {
  for (const std::string& name : routerOsFixtureNames()) {
    const RouterOsFixture f = loadRouterOsFixture(name);
    EXPECT_FALSE(f.command.empty()) << name;
    EXPECT_FALSE(f.source.empty()) << name;
  }
}

class RouterOsCorpusTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RouterOsCorpusTest, PluginReadsThePublishedReply) {
  checks().at(GetParam())(loadRouterOsFixture(GetParam()));
}

std::vector<std::string> checkedNames() {
  std::vector<std::string> names;
  for (const auto& [name, check] : checks()) names.push_back(name);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RouterOsCorpusTest, ::testing::ValuesIn(checkedNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.rfind('.'));
                           for (char& c : name)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return name;
                         });

}  // namespace
}  // namespace polycsi::rds_nvme
