// The NVMe/TCP paths of a volume: the nvme_addresses setting, what publish hands the node, and
// what the node connects (nvme_paths.hpp).
#include "nvme_paths.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rds_settings.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

std::vector<std::string> strings(const std::vector<HostAddress>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses) out.push_back(a.str());
  return out;
}

// The message of the INVALID_ARGUMENT `settings` get from the node's parse, or "" when none.
std::string refusal(const StringMap& settings) {
  try {
    RdsSettings::parse(settings, false);
    return "";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    return e.what();
  }
}

TEST(NvmePaths, NvmeAddressesListsThePathsInOrder) {
  RdsSettings s =
      RdsSettings::parse({{"nvme_addresses", "10.42.68.1, 10.42.69.1,rds-b.lan"}}, false);
  EXPECT_EQ(strings(s.nvmePaths()),
            (std::vector<std::string>{"10.42.68.1", "10.42.69.1", "rds-b.lan"}));
  // Without it: nvme_address, else address, as before.
  EXPECT_EQ(strings(RdsSettings::parse({{"nvme_address", "10.42.68.1"}}, false).nvmePaths()),
            std::vector<std::string>{"10.42.68.1"});
  EXPECT_EQ(strings(RdsSettings::parse({{"address", "10.0.0.9"}}, false).nvmePaths()),
            std::vector<std::string>{"10.0.0.9"});
  EXPECT_TRUE(RdsSettings::parse({}, false).nvmePaths().empty());
}

TEST(NvmePaths, BadNvmeAddressesAreRefusedNamingTheKey) {
  for (const char* bad :
       {"", ",", "10.42.68.1,", "10.42.68.1,,10.42.69.1", "10.42.68.1;x", "10.42.68.1,traddr=1",
        "10.42.68.1,10.42.68.1", "RDS.lan,rds.LAN", "a1,a2,a3,a4,a5,a6,a7,a8,a9"}) {
    std::string message = refusal({{"nvme_addresses", bad}});
    EXPECT_NE(message.find("setting 'nvme_addresses'"), std::string::npos)
        << "'" << bad << "': " << message;
  }
  EXPECT_NE(refusal({{"nvme_addresses", "10.42.68.1,10.42.68.1"}}).find("twice"),
            std::string::npos);
  EXPECT_NE(refusal({{"nvme_addresses", "10.42.68.1,bad_name"}}).find("entry 2"),
            std::string::npos);
  // Both keys: which would win is not obvious, so neither does.
  EXPECT_NE(refusal({{"nvme_address", "10.42.68.1"}, {"nvme_addresses", "10.42.69.1"}})
                .find("set only one of 'nvme_address' and 'nvme_addresses'"),
            std::string::npos);
}

TEST(NvmePaths, PublishHandsTheConfiguredPathsUnlessTheClassChoseAnotherTarget) {
  const std::vector<HostAddress> configured = parseNvmeAddressList("10.42.68.1,10.42.69.1", "test");
  // A volume created before the second path existed, with the first one: both paths now.
  EXPECT_EQ(strings(publishedNvmeAddresses({{"nvmeAddress", "10.42.68.1"}}, configured)),
            (std::vector<std::string>{"10.42.68.1", "10.42.69.1"}));
  EXPECT_EQ(strings(publishedNvmeAddresses({{"nvmeAddress", "10.42.69.1"}}, configured)),
            (std::vector<std::string>{"10.42.68.1", "10.42.69.1"}));
  EXPECT_EQ(strings(publishedNvmeAddresses({}, configured)),
            (std::vector<std::string>{"10.42.68.1", "10.42.69.1"}));
  // A StorageClass nvmeAddress naming another target keeps its single path.
  EXPECT_EQ(strings(publishedNvmeAddresses({{"nvmeAddress", "10.42.241.3"}}, configured)),
            std::vector<std::string>{"10.42.241.3"});
}

TEST(NvmePaths, TheNodeConnectsThePublishedPathsElseTheVolumesAddress) {
  const StringMap volume = {{"nvmeAddress", "10.42.68.1"}};
  EXPECT_EQ(strings(nodeNvmeAddresses(volume, {{"nvmeAddresses", "10.42.68.1,10.42.69.1"}}, "v")),
            (std::vector<std::string>{"10.42.68.1", "10.42.69.1"}));
  // A VolumeAttachment an older version made has no list: the PV's one address.
  EXPECT_EQ(strings(nodeNvmeAddresses(volume, {{"nvmeAddress", "10.42.68.1"}}, "v")),
            std::vector<std::string>{"10.42.68.1"});
  try {
    nodeNvmeAddresses(volume, {{"nvmeAddresses", "10.42.68.1,trsvcid=1"}}, "v");
    FAIL() << "an unsafe address list was taken";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("publish context nvmeAddresses"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(nodeNvmeAddresses({}, {}, "v"), Error);
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
