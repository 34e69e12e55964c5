// The "check first, then act" logic of RdsClient against the recording fake.
#include "rds_client.hpp"

#include <gtest/gtest.h>

#include "fake_rds.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

using Action = RouterOsCommand::Action;

class RdsClientTest : public ::testing::Test {
 protected:
  DiskSpec spec(const char* slot) {
    return DiskSpec{SlotName::parse(slot, "t"),
                    DiskPath::parse(std::string("/storage-pool/v/") + slot + ".img", "t"),
                    DiskSize::roundUp(int64_t{1} << 30),
                    std::nullopt,
                    true,
                    PortNumber::of(4420, "t"),
                    Nqn::parse(std::string("nqn.2000-02.com.mikrotik:") + slot, "t")};
  }
  polycsi_host_api api_{};
  FakeRds rds_;
  RdsClient client_{rds_, Host(&api_)};
  Call call_;
};

TEST_F(RdsClientTest, AddChecksFirstAndConfirms) {
  RdsDisk disk = client_.ensureDisk(spec("pvc-1"), call_);
  EXPECT_EQ(disk.slot, "pvc-1");
  EXPECT_EQ(RdsClient::diskBytes(disk), int64_t{1} << 30);
  EXPECT_EQ(rds_.commands(),
            (std::vector<std::string>{
                "/disk print detail where slot=\"pvc-1\"",
                "/disk add type=file file-path=\"/storage-pool/v/pvc-1.img\" file-size=1G "
                "slot=\"pvc-1\" nvme-tcp-export=yes nvme-tcp-server-port=4420 "
                "nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:pvc-1\"",
                "/disk print detail where slot=\"pvc-1\""}));
}

TEST_F(RdsClientTest, LostReplyAfterAddIsNotAddedTwice) {
  rds_.loseReplyOfNext(Action::kAdd);
  RdsDisk disk = client_.ensureDisk(spec("pvc-1"), call_);
  EXPECT_EQ(disk.slot, "pvc-1");
  EXPECT_EQ(rds_.count("/disk add"), 1);
  EXPECT_EQ(rds_.count("/disk print detail where slot=\"pvc-1\""), 2);
  EXPECT_EQ(rds_.diskCount(), 1u);
}

TEST_F(RdsClientTest, ExistingDiskIsNotAddedAgain) {
  rds_.addDisk("pvc-1", "/storage-pool/v/pvc-1.img", 5 << 20);
  client_.ensureDisk(spec("pvc-1"), call_);
  EXPECT_EQ(rds_.count("/disk add"), 0);
}

TEST_F(RdsClientTest, AlreadyExistsReplyLeadsBackToTheCheck) {
  rds_.failNextWith("failure: disk with such slot already exists", Action::kAdd);
  RdsDisk disk = client_.ensureDisk(spec("pvc-2"), call_);
  EXPECT_EQ(disk.slot, "pvc-2");
  EXPECT_EQ(rds_.count("/disk add"), 2);
  EXPECT_EQ(rds_.count("/disk print detail"), 3);
}

TEST_F(RdsClientTest, LostReplyAfterSetIsCheckedNotRepeated) {
  rds_.addDisk("pvc-1", "/storage-pool/v/pvc-1.img", 1 << 30);
  rds_.loseReplyOfNext(Action::kSet);
  RdsDisk disk = client_.ensureFileSizeAtLeast(SlotName::parse("pvc-1", "t"),
                                               DiskSize::roundUp(2LL << 30), call_);
  EXPECT_EQ(RdsClient::diskBytes(disk), 2LL << 30);
  EXPECT_EQ(rds_.count("/disk set"), 1);
}

TEST_F(RdsClientTest, GrowIsANoOpWhenBigEnough) {
  rds_.addDisk("pvc-1", "/storage-pool/v/pvc-1.img", 2LL << 30);
  client_.ensureFileSizeAtLeast(SlotName::parse("pvc-1", "t"), DiskSize::roundUp(1LL << 30), call_);
  EXPECT_EQ(rds_.count("/disk set"), 0);
}

TEST_F(RdsClientTest, RemovingWhatIsGoneOnlyLooks) {
  EXPECT_EQ(client_.ensureDiskRemoved(SlotName::parse("pvc-9", "t"), call_), std::nullopt);
  EXPECT_EQ(rds_.commands(), std::vector<std::string>{"/disk print detail where slot=\"pvc-9\""});
}

TEST_F(RdsClientTest, LostReplyAfterRemoveIsConfirmedByTheCheck) {
  rds_.addDisk("pvc-1", "/storage-pool/v/pvc-1.img", 1 << 30);
  rds_.loseReplyOfNext(Action::kRemove);
  auto path = client_.ensureDiskRemoved(SlotName::parse("pvc-1", "t"), call_);
  EXPECT_EQ(path, "/storage-pool/v/pvc-1.img");
  EXPECT_EQ(rds_.count("/disk remove"), 1);
  EXPECT_FALSE(rds_.disk("pvc-1").has_value());
}

TEST_F(RdsClientTest, RouterOsErrorsCarryTheirCode) {
  rds_.failNextWith("failure: not enough space");
  try {
    client_.addDisk(spec("pvc-1"), call_);
    ADD_FAILURE() << "add succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("not enough space"), std::string::npos);
  }
}

TEST_F(RdsClientTest, PoolCapacity) {
  rds_.addPool("storage-pool", 7949127950336, 5963595964416);
  PoolSpace space = client_.poolCapacity(MountPoint::parse("storage-pool", "t"), call_);
  EXPECT_EQ(space.sizeBytes, 7949127950336);
  EXPECT_EQ(space.freeBytes, 5963595964416);
  try {
    client_.poolCapacity(MountPoint::parse("other-pool", "t"), call_);
    ADD_FAILURE() << "unknown pool accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
