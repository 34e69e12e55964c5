#include "routeros_values.hpp"

#include <gtest/gtest.h>

namespace polycsi::rds_nvme {
namespace {

template <typename Fn>
Code codeOf(Fn fn) {
  try {
    fn();
    return Code::kOk;
  } catch (const Error& e) {
    return e.code();
  }
}

TEST(RouterOsValues, SlotNames) {
  EXPECT_EQ(SlotName::parse("pvc-0a1b2c3d-1111-2222-3333-444455556666", "t").str(),
            "pvc-0a1b2c3d-1111-2222-3333-444455556666");
  EXPECT_NO_THROW(SlotName::parse(std::string(63, 'a'), "t"));
  for (const char* bad : {"", "-pvc", "pvc_1", "pvc.1", "pvc 1", "pvc\"1", "pvc;1", "ä"})
    EXPECT_EQ(codeOf([&] { SlotName::parse(bad, "t"); }), Code::kInvalidArgument) << bad;
  EXPECT_EQ(codeOf([] { SlotName::parse(std::string(64, 'a'), "t"); }), Code::kInvalidArgument);
}

TEST(RouterOsValues, DiskPaths) {
  DiskPath p = DiskPath::parse("/storage-pool/kubernetes-volumes", "t");
  EXPECT_EQ(p.firstSegment(), "storage-pool");
  EXPECT_EQ(p.child("pvc-1.img").str(), "/storage-pool/kubernetes-volumes/pvc-1.img");
  EXPECT_EQ(p.child("pvc-1.img").parent(), p);
  EXPECT_EQ(p.fileName(), "storage-pool/kubernetes-volumes");
  EXPECT_EQ(p.leaf(), "kubernetes-volumes");
  for (const char* bad : {"", "/", "relative/x", "/a//b", "/a/", "/a/../b", "/a/./b", "/a b",
                          "/a\"b", "/a$b", "/a[b]", "/a;b", "/a\nb"})
    EXPECT_EQ(codeOf([&] { DiskPath::parse(bad, "t"); }), Code::kInvalidArgument) << bad;
  EXPECT_EQ(codeOf([&] { p.child(".."); }), Code::kInvalidArgument);
  EXPECT_EQ(codeOf([&] { p.child("a/b"); }), Code::kInvalidArgument);
}

TEST(RouterOsValues, Nqns) {
  EXPECT_NO_THROW(
      Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:5ffefdd7-0a51-3700-0b16-001e6792303a", "t"));
  EXPECT_NO_THROW(Nqn::parse("nqn.2000-02.com.mikrotik:pvc-1", "t"));
  EXPECT_NO_THROW(Nqn::parse("nqn.2000-02.com.mikrotik", "t"));
  for (const char* bad : {"", "nqn", "iqn.2000-02.com.x:y", "nqn.20x0-02.com.x:y",
                          "nqn.2000-02.Com.x:y", "nqn.2000-02.com.x:", "nqn.2000-02.com.x:a,b",
                          "nqn.2000-02.com.x:a b", "nqn.2000-02.com.x:a\"b"})
    EXPECT_EQ(codeOf([&] { Nqn::parse(bad, "t"); }), Code::kInvalidArgument) << bad;
  EXPECT_EQ(codeOf([] { Nqn::parse("nqn.2000-02.com.x:" + std::string(220, 'a'), "t"); }),
            Code::kInvalidArgument);
  EXPECT_EQ(codeOf([] { Nqn::parsePrefix("nqn.2000-02.com.x:y", "t"); }), Code::kInvalidArgument);
}

TEST(RouterOsValues, NqnListsAreSortedSetsJoinedWithCommas) {
  NqnList list = NqnList::parse("", "t");
  EXPECT_TRUE(list.empty());
  list.add(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:b", "t"));
  list.add(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:a", "t"));
  list.add(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:a", "t"));
  EXPECT_EQ(list.joined(), "nqn.2014-08.org.nvmexpress:uuid:a,nqn.2014-08.org.nvmexpress:uuid:b");
  EXPECT_EQ(NqnList::parse(list.joined(), "t"), list);
  list.remove(Nqn::parse("nqn.2014-08.org.nvmexpress:uuid:a", "t"));
  EXPECT_EQ(list.joined(), "nqn.2014-08.org.nvmexpress:uuid:b");
  EXPECT_EQ(codeOf([] { NqnList::parse("node1", "t"); }), Code::kInvalidArgument);
}

TEST(RouterOsValues, PortsAndAddresses) {
  EXPECT_EQ(PortNumber::parse("4420", "t").value(), 4420);
  for (const char* bad : {"", "0", "65536", "-1", "44 20", "0x10", "+1", "4420\n"})
    EXPECT_EQ(codeOf([&] { PortNumber::parse(bad, "t"); }), Code::kInvalidArgument) << bad;
  EXPECT_NO_THROW(HostAddress::parse("10.42.68.1", "t"));
  EXPECT_NO_THROW(HostAddress::parse("fd00::1", "t"));
  EXPECT_NO_THROW(HostAddress::parse("rds.example.com", "t"));
  for (const char* bad : {"", "rds example", "rds;reboot", "-rds.example", "a..b", "fd00::g"})
    EXPECT_EQ(codeOf([&] { HostAddress::parse(bad, "t"); }), Code::kInvalidArgument) << bad;
}

TEST(RouterOsValues, SizesRoundUpToWholeMiBNeverSmaller) {
  EXPECT_EQ(DiskSize::roundUp(0).str(), "1M");
  EXPECT_EQ(DiskSize::roundUp(1).bytes(), DiskSize::kMiB);
  EXPECT_EQ(DiskSize::roundUp(1).str(), "1M");
  EXPECT_EQ(DiskSize::roundUp(DiskSize::kMiB).str(), "1M");
  EXPECT_EQ(DiskSize::roundUp(DiskSize::kMiB + 1).str(), "2M");
  EXPECT_EQ(DiskSize::roundUp(DiskSize::kGiB).str(), "1G");
  EXPECT_EQ(DiskSize::roundUp(DiskSize::kGiB + 1).str(), "1025M");
  EXPECT_EQ(DiskSize::roundUp(int64_t{50} * DiskSize::kGiB).str(), "50G");
  EXPECT_EQ(DiskSize::roundUp(1500000000).bytes(), 1431 * DiskSize::kMiB);
  for (int64_t bytes : {int64_t{1}, int64_t{999999}, int64_t{1} << 30, (int64_t{1} << 40) + 7})
    EXPECT_GE(DiskSize::roundUp(bytes).bytes(), bytes);
  EXPECT_EQ(codeOf([] { DiskSize::roundUp(-1); }), Code::kOutOfRange);
  EXPECT_EQ(codeOf([] { DiskSize::roundUp(DiskSize::kMaxBytes + 1); }), Code::kOutOfRange);
}

TEST(RouterOsValues, PrintedSizes) {
  EXPECT_EQ(parseRouterOsSize("53 687 091 200"), int64_t{53687091200});
  EXPECT_EQ(parseRouterOsSize("7 949 127 950 336"), int64_t{7949127950336});
  EXPECT_EQ(parseRouterOsSize("512"), 512);
  EXPECT_EQ(parseRouterOsSize("0"), 0);
  EXPECT_EQ(parseRouterOsSize("50.0GiB"), int64_t{50} << 30);
  EXPECT_EQ(parseRouterOsSize("1.5TiB"), int64_t{3} << 39);
  EXPECT_EQ(parseRouterOsSize("1924.1KiB"), 1970279);  // 1924.1 * 1024 = 1970278.4, up
  EXPECT_EQ(parseRouterOsSize("11.1MiB"), 11639194);   // 11.1 * 2^20 = 11639193.6, up
  EXPECT_EQ(parseRouterOsSize("10G"), int64_t{10} << 30);
  EXPECT_EQ(parseRouterOsSize("100M"), int64_t{100} << 20);
  EXPECT_EQ(parseRouterOsSize("0B"), 0);
  for (const char* bad :
       {"", "lots", "1.2.3GiB", "5 12", "12 3456", ".5GiB", "5.GiB", "5XiB", "1.5B", "25%"})
    EXPECT_EQ(parseRouterOsSize(bad), std::nullopt) << bad;
}

TEST(RouterOsValues, CommandSafety) {
  EXPECT_TRUE(isCommandSafe("nqn.2000-02.com.mikrotik:pvc-1,nqn.x:y"));
  EXPECT_TRUE(isCommandSafe("/storage-pool/a_b.img"));
  for (const char* bad : {"a b", "a\"b", "a\\b", "a$b", "a[b", "a]b", "a;b", "a`b", "a'b", "a?b",
                          "a{b", "a\tb", "a\nb", "a\rb", "\xef\xbc\x9b"})
    EXPECT_FALSE(isCommandSafe(bad)) << bad;
  EXPECT_FALSE(isCommandSafe(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace polycsi::rds_nvme
