// The node side with a recording iscsiadm, a fake portal probe and a fake by-path tree.
#include "iscsi_node.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "temp_dir.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

using powerstore_sim::testing::TempDir;

class IscsiNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "sys" / "module" / "iscsi_tcp");
    std::filesystem::create_directories(dir_.path() / "by-path");
    std::filesystem::create_directories(dir_.path() / "state");
    std::ofstream(dir_.path() / "initiatorname.iscsi")
        << "## comment\nInitiatorName=iqn.1994-05.com.redhat:node-a\n";
    std::ofstream(dir_.path() / "sdb") << "";
    options_.initiatorNameFile = (dir_.path() / "initiatorname.iscsi").string();
    options_.sysfsRoot = dir_.path() / "sys";
    options_.byPathDir = dir_.path() / "by-path";
    options_.stateDir = dir_.path() / "state";
    options_.deviceWaitTimeout = std::chrono::milliseconds(300);
    options_.runner = [this](const std::vector<std::string>& argv, std::chrono::milliseconds) {
      std::string line;
      for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
      commands_.push_back(line);
      // Logging in makes the LUN's device appear, as udev would.
      if (line.find("--login") != std::string::npos) {
        for (int lun : {1, 2}) {
          const auto link = dir_.path() / "by-path" /
                            ("ip-127.0.0.1:3260-iscsi-" + argv[4] + "-lun-" + std::to_string(lun));
          std::error_code ec;
          std::filesystem::create_symlink(dir_.path() / "sdb", link, ec);
        }
      }
      return CommandOutcome{0, ""};
    };
    options_.probe = [this](const std::string&, const std::string& target,
                            const std::string& initiator, const std::optional<ChapSecret>&,
                            std::chrono::milliseconds) {
      probed_.push_back(initiator + "@" + target);
    };
  }

  int count(const std::string& needle) const {
    int n = 0;
    for (const auto& c : commands_) n += c.find(needle) != std::string::npos ? 1 : 0;
    return n;
  }

  TempDir dir_;
  IscsiNodeOptions options_;
  std::vector<std::string> commands_;
  std::vector<std::string> probed_;
  Call call_;
};

TEST_F(IscsiNodeTest, ReadsInitiatorName) {
  EXPECT_EQ(IscsiNode(options_).initiatorName(), "iqn.1994-05.com.redhat:node-a");
  std::ofstream(options_.initiatorNameFile) << "InitiatorName=not an iqn\n";
  EXPECT_THROW(IscsiNode(options_).initiatorName(), Error);
  options_.initiatorNameFile = (dir_.path() / "missing").string();
  try {
    IscsiNode(options_).initiatorName();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

TEST_F(IscsiNodeTest, AttachProbesLogsInAndReturnsTheDevice) {
  IscsiNode node(options_);
  const LunAddress lun{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1};
  const std::string device = node.attach(lun, "/stage/a", call_);
  EXPECT_EQ(device, std::filesystem::canonical(dir_.path() / "sdb").string());
  ASSERT_EQ(probed_.size(), 1u);
  EXPECT_EQ(probed_[0], "iqn.1994-05.com.redhat:node-a@iqn.2015-10.com.dell:t1");
  EXPECT_EQ(count("iscsiadm -m node -T iqn.2015-10.com.dell:t1 -p 127.0.0.1:3260 --login"), 1);
}

TEST_F(IscsiNodeTest, LogsOutOnlyWhenTheLastLunOfTheTargetIsDetached) {
  const LunAddress a{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1};
  const LunAddress b{"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 2};
  {
    IscsiNode node(options_);
    node.attach(a, "/stage/a", call_);
    node.attach(b, "/stage/b", call_);
  }
  IscsiNode restarted(options_);  // the record survives a restart
  restarted.detach("/stage/a", call_);
  EXPECT_EQ(count("--logout"), 0);
  restarted.detach("/stage/b", call_);
  EXPECT_EQ(count("--logout"), 1);
  restarted.detach("/stage/b", call_);
  EXPECT_EQ(count("--logout"), 1);
}

TEST_F(IscsiNodeTest, MissingKernelSupportIsFailedPrecondition) {
  std::filesystem::remove_all(dir_.path() / "sys" / "module");
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("iscsi_tcp"), std::string::npos);
  }
  EXPECT_TRUE(commands_.empty());
}

TEST_F(IscsiNodeTest, DeviceThatNeverAppearsTimesOut) {
  options_.runner = [this](const std::vector<std::string>&, std::chrono::milliseconds) {
    commands_.push_back("x");
    return CommandOutcome{0, ""};
  };
  IscsiNode node(options_);
  try {
    node.attach({"127.0.0.1:3260", "iqn.2015-10.com.dell:t1", 1}, "/stage/a", call_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
  }
}

TEST(LunAddressTest, ValidatesPublishContext) {
  EXPECT_EQ(
      parseLunAddress({{"portal", "10.0.0.1:3260"}, {"targetIqn", "iqn.a:b"}, {"lun", "3"}}).lun,
      3);
  EXPECT_THROW(parseLunAddress({{"portal", "10.0.0.1"}, {"targetIqn", "iqn.a:b"}, {"lun", "3"}}),
               Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260"}, {"targetIqn", "iqn.a b"}, {"lun", "3"}}), Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260"}, {"targetIqn", "iqn.a:b"}, {"lun", "-1"}}),
      Error);
  EXPECT_THROW(
      parseLunAddress({{"portal", "1.2.3.4:3260;rm"}, {"targetIqn", "iqn.a:b"}, {"lun", "1"}}),
      Error);
}

}  // namespace
}  // namespace polycsi::iscsi_powerstore
