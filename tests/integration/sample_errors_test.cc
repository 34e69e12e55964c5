// Every documented CSI error code for bad requests, through gRPC against `polycsi serve`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

using grpc::StatusCode;
using Mode = csi::v1::VolumeCapability::AccessMode;

class SampleErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    work_ = new TempDir();
    driver_ =
        new DriverProcess(work_->str(),
                          "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
                          "    settings:\n      directory: " +
                              work_->str() + "/volumes\n");
    driver_->start();
  }
  static void TearDownTestSuite() {
    delete driver_;
    delete work_;
  }
  StatusCode create(const csi::v1::CreateVolumeRequest& req, std::string* message = nullptr) {
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    auto s = driver_->controller().CreateVolume(ctx.get(), req, &resp);
    if (message) *message = s.error_message();
    return s.error_code();
  }

  static TempDir* work_;
  static DriverProcess* driver_;
};
TempDir* SampleErrorsTest::work_ = nullptr;
DriverProcess* SampleErrorsTest::driver_ = nullptr;

TEST_F(SampleErrorsTest, CreateVolumeRejectsBadRequests) {
  std::string message;
  EXPECT_EQ(create(createRequest("", kMiB, blockCapability()), &message),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "name is required");

  csi::v1::CreateVolumeRequest noCaps;
  noCaps.set_name("pvc-nocaps");
  EXPECT_EQ(create(noCaps, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(message, "volume_capabilities is required");

  auto badRange = createRequest("pvc-range", 10 * kMiB, blockCapability());
  badRange.mutable_capacity_range()->set_limit_bytes(kMiB);
  EXPECT_EQ(create(badRange, &message), StatusCode::INVALID_ARGUMENT);

  auto unknownBackend = createRequest("pvc-x", kMiB, blockCapability());
  (*unknownBackend.mutable_parameters())["backend"] = "nope";
  EXPECT_EQ(create(unknownBackend, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("unknown backend 'nope'"), std::string::npos) << message;

  auto unknownParam = createRequest("pvc-x", kMiB, blockCapability());
  (*unknownParam.mutable_parameters())["colour"] = "blue";
  EXPECT_EQ(create(unknownParam, &message), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("parameters.colour"), std::string::npos) << message;

  for (const char* bad : {"29", "3601", "abc", "300s", ""}) {
    auto timeout = createRequest("pvc-x", kMiB, blockCapability());
    (*timeout.mutable_parameters())["migrationTimeoutSeconds"] = bad;
    EXPECT_EQ(create(timeout, &message), StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(message.find("migrationTimeoutSeconds must be an integer from 30 to 3600"),
              std::string::npos)
        << message;
  }

  csi::v1::VolumeCapability noAccessType;
  noAccessType.mutable_access_mode()->set_mode(Mode::SINGLE_NODE_WRITER);
  EXPECT_EQ(create(createRequest("pvc-x", kMiB, noAccessType)), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(create(createRequest("pvc-x", kMiB, mountCapability(Mode::SINGLE_NODE_WRITER, "zfs"))),
            StatusCode::INVALID_ARGUMENT);
  // The sample plugin declares MULTI_NODE_SINGLE_WRITER unsupported, with its reason.
  EXPECT_EQ(create(createRequest("pvc-x", kMiB, blockCapability(Mode::MULTI_NODE_SINGLE_WRITER)),
                   &message),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(message.find("MULTI_NODE_SINGLE_WRITER"), std::string::npos) << message;
}

TEST_F(SampleErrorsTest, SameNameWithIncompatibleSizeIsAlreadyExists) {
  EXPECT_EQ(create(createRequest("pvc-size", kMiB, blockCapability())), StatusCode::OK);
  EXPECT_EQ(create(createRequest("pvc-size", 4 * kMiB, blockCapability())),
            StatusCode::ALREADY_EXISTS);
}

TEST_F(SampleErrorsTest, UnknownIdsAreNotFoundOrAlreadyGone) {
  csi::v1::DeleteVolumeRequest del;
  del.set_volume_id("local:does-not-exist");
  csi::v1::DeleteVolumeResponse delResp;
  auto c1 = rpcContext();
  EXPECT_TRUE(driver_->controller().DeleteVolume(c1.get(), del, &delResp).ok());
  del.set_volume_id("garbage id");
  auto c2 = rpcContext();
  EXPECT_TRUE(driver_->controller().DeleteVolume(c2.get(), del, &delResp).ok());

  csi::v1::ControllerPublishVolumeRequest pub;
  pub.set_volume_id("local:does-not-exist");
  pub.set_node_id("node-a");
  *pub.mutable_volume_capability() = blockCapability();
  csi::v1::ControllerPublishVolumeResponse pubResp;
  auto c3 = rpcContext();
  EXPECT_EQ(driver_->controller().ControllerPublishVolume(c3.get(), pub, &pubResp).error_code(),
            StatusCode::NOT_FOUND);
  // A backend missing from the configuration may still hold the volume: not "no such volume",
  // but a precondition the message names.
  pub.set_volume_id("other-backend:vol");
  auto c4 = rpcContext();
  grpc::Status unconfigured =
      driver_->controller().ControllerPublishVolume(c4.get(), pub, &pubResp);
  EXPECT_EQ(unconfigured.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(unconfigured.error_message().find("backend 'other-backend'"), std::string::npos)
      << unconfigured.error_message();
  pub.clear_node_id();
  auto c5 = rpcContext();
  EXPECT_EQ(driver_->controller().ControllerPublishVolume(c5.get(), pub, &pubResp).error_code(),
            StatusCode::INVALID_ARGUMENT);

  csi::v1::ValidateVolumeCapabilitiesRequest validate;
  validate.set_volume_id("local:does-not-exist");
  *validate.add_volume_capabilities() = blockCapability();
  csi::v1::ValidateVolumeCapabilitiesResponse validated;
  auto c6 = rpcContext();
  EXPECT_EQ(
      driver_->controller().ValidateVolumeCapabilities(c6.get(), validate, &validated).error_code(),
      StatusCode::NOT_FOUND);

  csi::v1::GetSnapshotRequest getSnap;
  getSnap.set_snapshot_id("local:snap-none");
  csi::v1::GetSnapshotResponse got;
  auto c7 = rpcContext();
  EXPECT_EQ(driver_->controller().GetSnapshot(c7.get(), getSnap, &got).error_code(),
            StatusCode::NOT_FOUND);
}

TEST_F(SampleErrorsTest, NodeCallsCheckPathsAndStagingState) {
  csi::v1::NodeStageVolumeRequest stage;
  stage.set_volume_id("local:x");
  *stage.mutable_volume_capability() = blockCapability();
  csi::v1::NodeStageVolumeResponse stageResp;
  auto c1 = rpcContext();
  EXPECT_EQ(driver_->node().NodeStageVolume(c1.get(), stage, &stageResp).error_code(),
            StatusCode::INVALID_ARGUMENT);
  stage.set_staging_target_path("relative/path");
  auto c2 = rpcContext();
  EXPECT_EQ(driver_->node().NodeStageVolume(c2.get(), stage, &stageResp).error_code(),
            StatusCode::INVALID_ARGUMENT);
  stage.set_staging_target_path(work_->str() + "/../escape");
  auto c3 = rpcContext();
  EXPECT_EQ(driver_->node().NodeStageVolume(c3.get(), stage, &stageResp).error_code(),
            StatusCode::INVALID_ARGUMENT);

  // Publishing a volume that was never staged is refused, not half-done.
  csi::v1::CreateVolumeResponse created;
  auto c4 = rpcContext();
  ASSERT_TRUE(
      driver_->controller()
          .CreateVolume(c4.get(), createRequest("pvc-unstaged", kMiB, blockCapability()), &created)
          .ok());
  csi::v1::NodePublishVolumeRequest pub;
  pub.set_volume_id(created.volume().volume_id());
  pub.set_staging_target_path(work_->str() + "/never-staged");
  pub.set_target_path(work_->str() + "/target");
  *pub.mutable_volume_capability() = blockCapability();
  csi::v1::NodePublishVolumeResponse pubResp;
  auto c5 = rpcContext();
  EXPECT_EQ(driver_->node().NodePublishVolume(c5.get(), pub, &pubResp).error_code(),
            StatusCode::FAILED_PRECONDITION);

  csi::v1::NodeGetVolumeStatsRequest stats;
  stats.set_volume_id(created.volume().volume_id());
  stats.set_volume_path(work_->str() + "/no-such-path");
  csi::v1::NodeGetVolumeStatsResponse statsResp;
  auto c6 = rpcContext();
  EXPECT_EQ(driver_->node().NodeGetVolumeStats(c6.get(), stats, &statsResp).error_code(),
            StatusCode::NOT_FOUND);
}

// CSI: NodeGetVolumeStats and NodeExpandVolume answer NOT_FOUND for a volume that does not
// exist, whatever path they were asked about; csi-sanity asks with "some/path". An id that is
// not polycsi's, and an id of the configured backend that this node never staged, are both
// unknown here. A missing path is still INVALID_ARGUMENT.
TEST_F(SampleErrorsTest, NodeStatsAndExpandOfAnUnknownVolumeAreNotFoundWhateverThePath) {
  // The answers of NodeGetVolumeStats and NodeExpandVolume for `id` at `path` ("" = no path).
  auto stats = [&](const std::string& id, const std::string& path) {
    csi::v1::NodeGetVolumeStatsRequest req;
    req.set_volume_id(id);
    req.set_volume_path(path);
    csi::v1::NodeGetVolumeStatsResponse resp;
    auto ctx = rpcContext();
    return driver_->node().NodeGetVolumeStats(ctx.get(), req, &resp);
  };
  auto expand = [&](const std::string& id, const std::string& path) {
    csi::v1::NodeExpandVolumeRequest req;
    req.set_volume_id(id);
    req.set_volume_path(path);
    csi::v1::NodeExpandVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->node().NodeExpandVolume(ctx.get(), req, &resp);
  };
  for (const std::string id : {"some-vol-id", "local:never-staged"}) {
    for (const std::string& path : {std::string("some/path"), work_->str() + "/no-such-path"}) {
      grpc::Status s = stats(id, path);
      EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND)
          << id << " " << path << ": " << s.error_message();
      s = expand(id, path);
      EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND)
          << id << " " << path << ": " << s.error_message();
    }
    EXPECT_EQ(stats(id, "").error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(expand(id, "").error_code(), StatusCode::INVALID_ARGUMENT);
  }
}

// ControllerModifyVolume (advertised: the sample plugin has the mutable `tier`): CSI's
// argument errors first, then NOT_FOUND for a volume that does not exist.
TEST_F(SampleErrorsTest, ModifyChecksItsArgumentsAndTheVolume) {
  auto modify = [&](const std::string& id, const std::map<std::string, std::string>& params) {
    csi::v1::ControllerModifyVolumeRequest req;
    req.set_volume_id(id);
    for (const auto& [k, v] : params) (*req.mutable_mutable_parameters())[k] = v;
    csi::v1::ControllerModifyVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->controller().ControllerModifyVolume(ctx.get(), req, &resp);
  };
  EXPECT_EQ(modify("", {{"tier", "fast"}}).error_code(), StatusCode::INVALID_ARGUMENT);
  auto empty = modify("local:x", {});
  EXPECT_EQ(empty.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(empty.error_message(), "mutable_parameters is required");
  auto missing = modify("local:x", {{"tier", "fast"}});
  EXPECT_EQ(missing.error_code(), StatusCode::NOT_FOUND) << missing.error_message();
  csi::v1::ControllerGetCapabilitiesResponse caps;
  auto c2 = rpcContext();
  ASSERT_TRUE(driver_->controller().ControllerGetCapabilities(c2.get(), {}, &caps).ok());
  bool advertised = false;
  for (const auto& c : caps.capabilities())
    advertised =
        advertised || c.rpc().type() == csi::v1::ControllerServiceCapability::RPC::MODIFY_VOLUME;
  EXPECT_TRUE(advertised);
}

// A second operation on a volume whose first operation is still running is ABORTED (CSI), and
// the first one completes normally. The sample plugin's create_delay_ms keeps the first busy.
TEST(ConcurrentOperationsTest, SecondCallOnABusyVolumeIsAborted) {
  TempDir work;
  DriverProcess driver(work.str(),
                       "backends:\n  - name: slow\n    plugin: sample\n    default: true\n"
                       "    settings:\n      directory: " +
                           work.str() +
                           "/volumes\n"
                           "      create_delay_ms: 3000\n");
  driver.start();
  auto req = createRequest("pvc-busy", kMiB, blockCapability());
  grpc::Status first;
  std::thread slow([&] {
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext();
    first = driver.controller().CreateVolume(ctx.get(), req, &resp);
  });
  // The first call holds the volume for 3 s; ask again well inside that time.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  csi::v1::CreateVolumeResponse resp;
  auto ctx = rpcContext();
  auto second = driver.controller().CreateVolume(ctx.get(), req, &resp);
  slow.join();
  EXPECT_EQ(second.error_code(), StatusCode::ABORTED) << second.error_message();
  EXPECT_TRUE(first.ok()) << first.error_message();
  // Once the first is done the same call succeeds (idempotently).
  auto ctx2 = rpcContext();
  EXPECT_TRUE(driver.controller().CreateVolume(ctx2.get(), req, &resp).ok());
}

// A client that gives up stops the plugin's work: the sample plugin's create_delay_ms loop polls
// the call's cancellation flag, which follows the gRPC call. While the first call runs, the
// volume stays busy (ABORTED); once the flag stops the plugin, the next call gets through to the
// plugin (and runs into its own short deadline in the same delay).
TEST(ConcurrentOperationsTest, AClientThatCancelsStopsThePluginCall) {
  TempDir work;
  DriverProcess driver(work.str(),
                       "backends:\n  - name: slow\n    plugin: sample\n    default: true\n"
                       "    settings:\n      directory: " +
                           work.str() +
                           "/volumes\n"
                           "      create_delay_ms: 60000\n");
  driver.start();
  auto req = createRequest("pvc-abandoned", kMiB, blockCapability());
  auto first = rpcContext(600);
  std::thread client([&] {
    csi::v1::CreateVolumeResponse resp;
    driver.controller().CreateVolume(first.get(), req, &resp);
  });
  // Let the call reach the plugin (as SecondCallOnABusyVolumeIsAborted does). Were it cancelled
  // before, the test would pass without showing anything, never fail wrongly.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  first->TryCancel();
  client.join();
  // The plugin's delay has 60 s to run; a plugin that ignored the cancellation keeps the volume
  // busy that long. Ask for at most 30 s.
  grpc::Status next;
  for (int i = 0; i < 300; ++i) {
    csi::v1::CreateVolumeResponse resp;
    auto ctx = rpcContext(1);
    next = driver.controller().CreateVolume(ctx.get(), req, &resp);
    if (next.error_code() != StatusCode::ABORTED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(next.error_code(), StatusCode::DEADLINE_EXCEEDED)
      << "the cancelled call still holds the volume: " << next.error_message();
}

}  // namespace
}  // namespace polycsi::testing
