// The injection corpus: hostile text through every path that could reach a RouterOS command.
// Each must be refused with INVALID_ARGUMENT, and nothing at all may reach the wire.
#include <gtest/gtest.h>

#include "rds_test_env.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

std::vector<std::string> corpus() {
  return {
      "pvc-1\"; /system reboot; \"",
      "pvc-1;/system reboot",
      "pvc-1\" slot=\"x",
      "[find]",
      "pvc-[/system reboot]",
      "pvc-1]",
      "$x",
      "pvc-$(reboot)",
      "pvc-`id`",
      "pvc-1\n/system reboot",
      "pvc-1\r/system reboot",
      std::string("pvc-1\0/system reboot", 20),
      "pvc-1\t/system reboot",
      "pvc-1\xef\xbc\x9b/system reboot",  // fullwidth semicolon
      "pvc-\xe2\x80\xae"
      "1gnp",          // right-to-left override
      "pvc-\xc3\xa9",  // non-ASCII letter
      std::string(5000, 'a'),
      "..",
      "../../etc/passwd",
      "pvc 1",
      "pvc-1'",
      "pvc-1\\",
      "pvc-{1}",
      "pvc-1?",
      "",
  };
}

class InjectionTest : public RdsBackendTest {
 protected:
  void SetUp() override {
    RdsBackendTest::SetUp();
    start();
    rds_.clearCommands();
  }
  void expectRefused(const Status& status, const std::string& path, const std::string& value) {
    EXPECT_EQ(status.code(), Code::kInvalidArgument)
        << path << " accepted " << ::testing::PrintToString(value) << ": " << status.toString();
  }
  void TearDown() override {
    EXPECT_EQ(rds_.commands(), std::vector<std::string>{}) << "something reached the wire";
    RdsBackendTest::TearDown();
  }
};

TEST_F(InjectionTest, CsiVolumeNames) {
  for (const auto& bad : corpus()) {
    if (bad.empty()) continue;  // the core refuses an empty name before any plugin
    expectRefused(backend_->createVolume(createRequest(bad, kGiB)).status(), "name", bad);
  }
}

TEST_F(InjectionTest, StorageClassParameters) {
  for (const auto& bad : corpus()) {
    for (const char* key :
         {"rdsBasePath", "volumePath", "nvmeAddress", "nvmePort", "rdsAddress", "rdsPort"})
      expectRefused(backend_->createVolume(createRequest("pvc-ok", kGiB, {{key, bad}})).status(),
                    key, bad);
    for (const char* key : {"rdsBasePath", "volumePath"})
      expectRefused(
          backend_->createVolume(createRequest("pvc-ok", kGiB, {{key, "/storage-pool/" + bad}}))
              .status(),
          key, "/storage-pool/" + bad);
    CapacityRequest capacity;
    capacity.parameters["rdsBasePath"] = "/storage-pool/" + bad;
    expectRefused(backend_->getCapacity(capacity).status(), "capacity rdsBasePath", bad);
  }
  // A hostile parameter name is refused too.
  expectRefused(
      backend_->createVolume(createRequest("pvc-ok", kGiB, {{"x\"; /system reboot", "1"}}))
          .status(),
      "parameter name", "x\"; /system reboot");
}

TEST_F(InjectionTest, VolumeAndSnapshotIds) {
  for (const auto& bad : corpus()) {
    VolumeIdRequest id;
    id.volumeId = bad;
    expectRefused(backend_->deleteVolume(id), "deleteVolume id", bad);
    expectRefused(backend_->getVolume(id).status(), "getVolume id", bad);
    ExpandRequest expand;
    expand.volumeId = bad;
    expand.requiredBytes = kGiB;
    expectRefused(backend_->expandVolume(expand).status(), "expand id", bad);
    CreateVolumeRequest restore = createRequest("pvc-ok", kGiB);
    restore.sourceId = bad;
    expectRefused(backend_->createVolumeFromSnapshot(restore).status(), "restore source", bad);
    expectRefused(backend_->cloneVolume(restore).status(), "clone source", bad);
    CreateSnapshotRequest snap;
    snap.name = "snapshot-ok";
    snap.sourceVolumeId = bad;
    expectRefused(backend_->createSnapshot(snap).status(), "snapshot source", bad);
    if (!bad.empty()) {
      snap.name = bad;
      snap.sourceVolumeId = "pvc-ok";
      expectRefused(backend_->createSnapshot(snap).status(), "snapshot name", bad);
    }
    SnapshotIdRequest snapId;
    snapId.snapshotId = bad;
    expectRefused(backend_->deleteSnapshot(snapId), "deleteSnapshot id", bad);
    expectRefused(backend_->publish(publishRequest(bad, "node-a", kNodeA)).status(), "publish id",
                  bad);
  }
}

TEST_F(InjectionTest, NodeIdentityForFencing) {
  for (const auto& bad : corpus()) {
    if (bad.empty()) continue;  // no identity: FAILED_PRECONDITION, tested elsewhere
    for (const std::string& identity : {bad, "nqn.2014-08.org.nvmexpress:" + bad}) {
      expectRefused(backend_->publish(publishRequest("pvc-ok", "node-a", identity)).status(),
                    "publish node identity", identity);
      expectRefused(backend_->unpublish(publishRequest("pvc-ok", "node-a", identity)),
                    "unpublish node identity", identity);
    }
  }
}

TEST_F(InjectionTest, Settings) {
  for (const auto& bad : corpus()) {
    for (const char* key : {"address", "user", "base_path", "pool", "nvme_address", "nqn_prefix",
                            "volume_prefix", "port", "nvme_port", "host_key_fingerprint"}) {
      if (bad.empty() && std::string(key) != "base_path" && std::string(key) != "address")
        continue;  // empty optional settings mean "default"
      StringMap settings = baseSettings();
      settings[key] = bad;
      expectRefused(tryStart(settings).status(), std::string("setting ") + key, bad);
      settings[key] = "/storage-pool/" + bad;
      if (std::string(key) == "base_path")
        expectRefused(tryStart(settings).status(), "setting base_path", settings[key]);
    }
  }
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
