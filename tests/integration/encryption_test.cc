// The StorageClass parameter `encrypted` and the node-stage passphrase through gRPC against a
// real `polycsi serve` (sample and nfs backends): what CreateVolume accepts and records in the
// volume context, and what NodeStageVolume refuses before or after the plugin attached, leaving
// nothing attached. LUKS itself on a real kernel: tests/core/node/luks_loop_device_test.cc and
// the VM lab.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_test.hpp"
#include "kernel_features.hpp"

namespace polycsi::testing {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

constexpr char kPassphrase[] = "it-Luks-Passphrase-93ab";

class EncryptionTest : public DriverTest {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "these tests attach loop devices: run them as root";
    // nfs starts without its server: nothing here reaches it (CreateVolume refuses first).
    startDriver(
        "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        "    settings:\n      directory: " +
        work_.str() +
        "/volumes\n"
        "  - name: files\n    plugin: nfs\n    settings:\n      server: 127.0.0.1\n"
        "      share: /export\n");
  }

  grpc::Status create(const std::string& name, const std::map<std::string, std::string>& params,
                      const csi::v1::VolumeCapability& cap, csi::v1::CreateVolumeResponse* out) {
    auto req = createRequest(name, 32 * kMiB, cap);
    for (const auto& [k, v] : params) (*req.mutable_parameters())[k] = v;
    auto ctx = rpcContext();
    return driver_->controller().CreateVolume(ctx.get(), req, out);
  }

  grpc::Status stage(const csi::v1::Volume& volume, const csi::v1::VolumeCapability& cap,
                     const std::map<std::string, std::string>& secrets,
                     const std::map<std::string, std::string>& contextOverride = {}) {
    csi::v1::NodeStageVolumeRequest req;
    req.set_volume_id(volume.volume_id());
    req.set_staging_target_path(work_.str() + "/staging");
    *req.mutable_volume_capability() = cap;
    *req.mutable_volume_context() = volume.volume_context();
    for (const auto& [k, v] : contextOverride) (*req.mutable_volume_context())[k] = v;
    for (const auto& [k, v] : secrets) (*req.mutable_secrets())[k] = v;
    csi::v1::NodeStageVolumeResponse resp;
    auto ctx = rpcContext(120);
    return driver_->node().NodeStageVolume(ctx.get(), req, &resp);
  }

  // Loop devices whose backing file lies in this test's volume directory.
  std::vector<std::string> attachedLoops() const {
    std::vector<std::string> out;
    for (const auto& entry : std::filesystem::directory_iterator("/sys/block")) {
      std::ifstream backing(entry.path() / "loop" / "backing_file");
      std::string file;
      if (std::getline(backing, file) && file.rfind(work_.str() + "/volumes", 0) == 0)
        out.push_back(entry.path().filename().string() + " -> " + file);
    }
    return out;
  }
};

TEST_F(EncryptionTest, CreateVolumeValidatesTheParameterAndRecordsItInTheContext) {
  csi::v1::CreateVolumeResponse resp;
  for (const char* bad : {"yes", "TRUE", "1", ""}) {
    auto s = create("pvc-bad", {{"encrypted", bad}}, blockCapability(), &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_EQ(s.error_message(),
              std::string("parameters.encrypted must be \"true\" or \"false\", got '") + bad + "'");
  }

  auto nfs = create("pvc-nfs", {{"encrypted", "true"}, {"backend", "files"}},
                    mountCapability(Mode::MULTI_NODE_MULTI_WRITER, "nfs"), &resp);
  EXPECT_EQ(nfs.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(nfs.error_message().find("parameters.encrypted: backend 'files' (plugin nfs) attaches "
                                     "no block device"),
            std::string::npos)
      << nfs.error_message();

  ASSERT_OK(create("pvc-enc", {{"encrypted", "true"}}, blockCapability(), &resp));
  EXPECT_EQ(resp.volume().volume_context().at("polycsi.io/encrypted"), "true");
  csi::v1::CreateVolumeResponse plain;
  ASSERT_OK(create("pvc-plain", {{"encrypted", "false"}}, blockCapability(), &plain));
  EXPECT_EQ(plain.volume().volume_context().count("polycsi.io/encrypted"), 0u);
}

TEST_F(EncryptionTest, StageWithoutThePassphraseIsRefusedBeforeAttaching) {
  csi::v1::CreateVolumeResponse resp;
  ASSERT_OK(create("pvc-nokey", {{"encrypted", "true"}}, blockCapability(), &resp));
  for (const auto& secrets : std::vector<std::map<std::string, std::string>>{
           {}, {{"encryptionPassphrase", ""}}, {{"passphrase", kPassphrase}}}) {
    auto s = stage(resp.volume(), blockCapability(), secrets);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("node-stage secret key 'encryptionPassphrase'"),
              std::string::npos)
        << s.error_message();
    EXPECT_EQ(s.error_message().find(kPassphrase), std::string::npos);
  }
  EXPECT_TRUE(attachedLoops().empty()) << attachedLoops().front();

  auto bad = stage(resp.volume(), blockCapability(), {{"encryptionPassphrase", kPassphrase}},
                   {{"polycsi.io/encrypted", "maybe"}});
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad.error_message().find("volume_context.polycsi.io/encrypted"), std::string::npos)
      << bad.error_message();
  EXPECT_TRUE(attachedLoops().empty());
}

// Where the kernel has no device-mapper, opening the volume fails after the plugin attached
// it: the stage must undo the attach and record nothing, like a failed mount.
TEST_F(EncryptionTest, AFailedOpenUndoesTheAttachAndRecordsNothing) {
  if (kernelHasDeviceMapper())
    GTEST_SKIP() << "this kernel has device-mapper: the open would succeed here; "
                    "luks_loop_device_test covers that path";
  csi::v1::CreateVolumeResponse resp;
  ASSERT_OK(create("pvc-nodm", {{"encrypted", "true"}}, blockCapability(), &resp));
  auto s = stage(resp.volume(), blockCapability(), {{"encryptionPassphrase", kPassphrase}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error_message().find(kPassphrase), std::string::npos) << s.error_message();
  EXPECT_TRUE(attachedLoops().empty()) << attachedLoops().front();
  csi::v1::NodeGetVolumeStatsResponse stats;
  EXPECT_EQ(
      csi_->volumeStats(resp.volume().volume_id(), work_.str() + "/staging", &stats).error_code(),
      grpc::StatusCode::NOT_FOUND)
      << "no node record after a failed stage";
  EXPECT_EQ(driver_->log().find(kPassphrase), std::string::npos) << "the passphrase is logged";
  ASSERT_OK(csi_->unstage(resp.volume().volume_id(), work_.str() + "/staging"));
}

}  // namespace
}  // namespace polycsi::testing
