// The whole CSI lifecycle over gRPC against a real `polycsi serve` with the sample plugin, on
// real loop devices and filesystems; every call is repeated to prove idempotency.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "sample_driver_test.hpp"
#include "sidecar_metadata.hpp"

namespace polycsi::testing {
namespace {

using Mode = csi::v1::VolumeCapability::AccessMode;

class SampleLifecycleTest : public SampleDriverTest {
 protected:
  std::string createVolume(const std::string& name, int64_t bytes,
                           const csi::v1::VolumeCapability& cap,
                           csi::v1::CreateVolumeResponse* out = nullptr) {
    csi::v1::CreateVolumeResponse resp;
    auto status = csi_->create(name, bytes, cap, &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    if (out) *out = resp;
    return resp.volume().volume_id();
  }
};

TEST_F(SampleLifecycleTest, IdentityReportsNameAndReadiness) {
  csi::v1::GetPluginInfoResponse info;
  ASSERT_OK(csi_->pluginInfo(&info));
  EXPECT_EQ(info.name(), "polycsi.csi.io");
  EXPECT_EQ(info.manifest().at("backend/local"), "sample 0.1.0");
  // The capability matrix travels in the manifest for polycsictl checkup.
  const std::string matrix = info.manifest().at("backend/local/capabilities");
  EXPECT_NE(matrix.find("SINGLE_NODE_WRITER/filesystem=exclusive"), std::string::npos) << matrix;
  EXPECT_NE(matrix.find("MULTI_NODE_MULTI_WRITER/block=migration_window"), std::string::npos)
      << matrix;
  EXPECT_NE(matrix.find("MULTI_NODE_MULTI_WRITER/filesystem=shared"), std::string::npos) << matrix;
  EXPECT_NE(matrix.find("MULTI_NODE_SINGLE_WRITER/block=unsupported"), std::string::npos) << matrix;
  EXPECT_FALSE(info.manifest().at("backend/local/reason/MULTI_NODE_SINGLE_WRITER/block").empty());
  EXPECT_EQ(info.manifest().count("backend/local/reason/SINGLE_NODE_WRITER/block"), 0u);
  EXPECT_EQ(info.manifest().at("backend/local/default"), "true");
  EXPECT_EQ(info.manifest().at("migration/timeout_seconds"), "300 30 3600");
  csi::v1::ProbeResponse probe;
  auto ctx2 = rpcContext();
  ASSERT_OK(driver_->identity().Probe(ctx2.get(), {}, &probe));
  EXPECT_TRUE(probe.ready().value());
}

// xfs, because growing a mounted ext4 needs CAP_SYS_RESOURCE, which test sandboxes may lack;
// xfs needs at least 300 MiB (the files are sparse).
TEST_F(SampleLifecycleTest, MountVolumeWholeLifecycleIsIdempotent) {
  auto cap = mountCapability(Mode::SINGLE_NODE_WRITER, "xfs");
  csi::v1::CreateVolumeResponse created, again;
  std::string vol = createVolume("pvc-mount", 320 * kMiB, cap, &created);
  createVolume("pvc-mount", 320 * kMiB, cap, &again);
  ASSERT_EQ(vol, again.volume().volume_id());
  EXPECT_EQ(created.volume().capacity_bytes(), 320 * kMiB);
  EXPECT_EQ(created.volume().volume_context().at("polycsi.io/migration-timeout-seconds"), "300");

  std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(vol, node, cap));
  ASSERT_OK(csi_->controllerPublish(vol, node, cap));
  std::string staging = work_.str() + "/staging";
  std::string target = work_.str() + "/target";
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  { std::ofstream(target + "/data.txt") << "kept"; }

  csi::v1::NodeGetVolumeStatsResponse stats;
  ASSERT_OK(csi_->volumeStats(vol, target, &stats));
  ASSERT_EQ(stats.usage_size(), 2);
  EXPECT_GT(stats.usage(0).total(), 250 * kMiB);
  EXPECT_LE(stats.usage(0).total(), 320 * kMiB);
  EXPECT_GT(stats.usage(1).total(), 0);
  EXPECT_FALSE(stats.volume_condition().abnormal());

  // Online expansion: controller grows the file, node grows the loop device and xfs.
  csi::v1::ControllerExpandVolumeRequest expandReq;
  expandReq.set_volume_id(vol);
  expandReq.mutable_capacity_range()->set_required_bytes(400 * kMiB);
  csi::v1::ControllerExpandVolumeResponse expanded;
  auto ectx = rpcContext();
  ASSERT_OK(driver_->controller().ControllerExpandVolume(ectx.get(), expandReq, &expanded));
  EXPECT_EQ(expanded.capacity_bytes(), 400 * kMiB);
  EXPECT_TRUE(expanded.node_expansion_required());
  csi::v1::NodeExpandVolumeRequest nodeExpand;
  nodeExpand.set_volume_id(vol);
  nodeExpand.set_volume_path(target);
  nodeExpand.set_staging_target_path(staging);
  nodeExpand.mutable_capacity_range()->set_required_bytes(400 * kMiB);
  *nodeExpand.mutable_volume_capability() = cap;
  csi::v1::NodeExpandVolumeResponse nodeExpanded;
  auto nctx = rpcContext();
  ASSERT_OK(driver_->node().NodeExpandVolume(nctx.get(), nodeExpand, &nodeExpanded));
  EXPECT_EQ(nodeExpanded.capacity_bytes(), 400 * kMiB);
  ASSERT_OK(csi_->volumeStats(vol, target, &stats));
  EXPECT_GT(stats.usage(0).total(), 330 * kMiB);

  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->controllerUnpublish(vol, node));

  // Staged again, the data is still there: nothing was reformatted.
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  {
    std::ifstream kept(target + "/data.txt");
    std::string content;
    kept >> content;
    EXPECT_EQ(content, "kept");
  }
  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));

  ASSERT_OK(csi_->deleteVolume(vol));
  ASSERT_OK(csi_->deleteVolume(vol));
}

TEST_F(SampleLifecycleTest, BlockVolumeIsBoundAsADeviceFile) {
  auto cap = blockCapability();
  std::string vol = createVolume("pvc-block", 16 * kMiB, cap);
  std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(vol, node, cap));
  std::string staging = work_.str() + "/bstaging";
  std::string target = work_.str() + "/bdev";
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  struct stat st {};
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode)) << "the publish target must be the bound device node";
  int fd = open(target.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  const char payload[] = "block-data";
  ASSERT_EQ(pwrite(fd, payload, sizeof(payload), 4096), static_cast<ssize_t>(sizeof(payload)));
  fsync(fd);
  char back[sizeof(payload)] = {};
  ASSERT_EQ(pread(fd, back, sizeof(back), 4096), static_cast<ssize_t>(sizeof(back)));
  close(fd);
  EXPECT_STREQ(back, payload);

  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->deleteVolume(vol));
}

// For a volume staged here, a path where it cannot be is NOT_FOUND for NodeGetVolumeStats
// (CSI: "does not exist on specified volume_path"; csi-sanity asks with "some/path"), while a
// path of a forbidden form is INVALID_ARGUMENT for both NodeGetVolumeStats and NodeExpandVolume.
TEST_F(SampleLifecycleTest, StatsAndExpandOfAStagedVolumeJudgeThePath) {
  auto cap = blockCapability();
  std::string vol = createVolume("pvc-paths", 16 * kMiB, cap);
  std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(vol, node, cap));
  std::string staging = work_.str() + "/pstaging";
  std::string target = work_.str() + "/pdev";
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));

  auto stats = [&](const std::string& path) { return csi_->volumeStats(vol, path); };
  auto expand = [&](const std::string& path) {
    csi::v1::NodeExpandVolumeRequest req;
    req.set_volume_id(vol);
    req.set_volume_path(path);
    csi::v1::NodeExpandVolumeResponse resp;
    auto ctx = rpcContext();
    return driver_->node().NodeExpandVolume(ctx.get(), req, &resp);
  };
  ASSERT_OK(stats(target));
  grpc::Status s = stats("some/path");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  s = stats(work_.str() + "/no-such-path");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  s = stats(work_.str() + "/../pdev");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  s = expand("some/path");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  s = expand(work_.str() + "/../pdev");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));
  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->deleteVolume(vol));
}

TEST_F(SampleLifecycleTest, SnapshotsRestoresAndClonesCarryTheData) {
  auto cap = blockCapability();
  std::string vol;
  {
    // As the external-provisioner sends it: with the claim's and the PV's names.
    auto req = createRequest("pvc-src", 8 * kMiB, cap);
    addProvisionerMetadata(req, "vm-disk", "vms");
    csi::v1::CreateVolumeResponse created;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().CreateVolume(ctx.get(), req, &created));
    vol = created.volume().volume_id();
  }
  // Write through the node path so the data goes where a pod would put it.
  std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(vol, node, cap));
  std::string staging = work_.str() + "/s", target = work_.str() + "/t";
  ASSERT_OK(csi_->stage(vol, staging, cap));
  ASSERT_OK(csi_->publish(vol, staging, target, cap));
  int fd = open(target.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "snapshot-me", 11, 0), 11);
  fsync(fd);
  close(fd);
  ASSERT_OK(csi_->unpublish(vol, target));
  ASSERT_OK(csi_->unstage(vol, staging));

  csi::v1::CreateSnapshotRequest snapReq;
  snapReq.set_name("snap-1");
  snapReq.set_source_volume_id(vol);
  addSnapshotterMetadata(snapReq, "vm-disk-snapshot", "vms");
  csi::v1::CreateSnapshotResponse snap, snapAgain;
  auto c1 = rpcContext(), c2 = rpcContext();
  ASSERT_OK(driver_->controller().CreateSnapshot(c1.get(), snapReq, &snap));
  ASSERT_OK(driver_->controller().CreateSnapshot(c2.get(), snapReq, &snapAgain));
  EXPECT_EQ(snap.snapshot().snapshot_id(), snapAgain.snapshot().snapshot_id());
  EXPECT_EQ(snap.snapshot().source_volume_id(), vol);
  EXPECT_TRUE(snap.snapshot().ready_to_use());

  csi::v1::ListSnapshotsRequest listReq;
  listReq.set_source_volume_id(vol);
  csi::v1::ListSnapshotsResponse listed;
  auto c3 = rpcContext();
  ASSERT_OK(driver_->controller().ListSnapshots(c3.get(), listReq, &listed));
  ASSERT_EQ(listed.entries_size(), 1);
  EXPECT_EQ(listed.entries(0).snapshot().snapshot_id(), snap.snapshot().snapshot_id());

  auto restoreReq = createRequest("pvc-restored", 8 * kMiB, cap);
  restoreReq.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(
      snap.snapshot().snapshot_id());
  csi::v1::CreateVolumeResponse restored;
  auto c4 = rpcContext();
  ASSERT_OK(driver_->controller().CreateVolume(c4.get(), restoreReq, &restored));
  EXPECT_EQ(restored.volume().content_source().snapshot().snapshot_id(),
            snap.snapshot().snapshot_id());

  auto cloneReq = createRequest("pvc-clone", 8 * kMiB, cap);
  cloneReq.mutable_volume_content_source()->mutable_volume()->set_volume_id(vol);
  csi::v1::CreateVolumeResponse cloned;
  auto c5 = rpcContext();
  ASSERT_OK(driver_->controller().CreateVolume(c5.get(), cloneReq, &cloned));

  for (const auto& copy : {restored.volume().volume_id(), cloned.volume().volume_id()}) {
    ASSERT_OK(csi_->controllerPublish(copy, node, cap));
    ASSERT_OK(csi_->stage(copy, staging, cap));
    ASSERT_OK(csi_->publish(copy, staging, target, cap));
    char back[12] = {};
    int rfd = open(target.c_str(), O_RDONLY);
    ASSERT_GE(rfd, 0);
    ASSERT_EQ(pread(rfd, back, 11, 0), 11);
    close(rfd);
    EXPECT_STREQ(back, "snapshot-me") << copy;
    ASSERT_OK(csi_->unpublish(copy, target));
    ASSERT_OK(csi_->unstage(copy, staging));
    ASSERT_OK(csi_->controllerUnpublish(copy, node));
    ASSERT_OK(csi_->deleteVolume(copy));
  }

  csi::v1::DeleteSnapshotRequest delSnap;
  delSnap.set_snapshot_id(snap.snapshot().snapshot_id());
  csi::v1::DeleteSnapshotResponse deleted;
  auto c6 = rpcContext(), c7 = rpcContext();
  ASSERT_OK(driver_->controller().DeleteSnapshot(c6.get(), delSnap, &deleted));
  ASSERT_OK(driver_->controller().DeleteSnapshot(c7.get(), delSnap, &deleted));
  csi::v1::GetSnapshotRequest getSnap;
  getSnap.set_snapshot_id(snap.snapshot().snapshot_id());
  csi::v1::GetSnapshotResponse got;
  auto c8 = rpcContext();
  EXPECT_EQ(driver_->controller().GetSnapshot(c8.get(), getSnap, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
  ASSERT_OK(csi_->controllerUnpublish(vol, node));
  ASSERT_OK(csi_->deleteVolume(vol));
}

TEST_F(SampleLifecycleTest, ListVolumesPagesAcrossAllVolumesWithPublishedNodes) {
  auto cap = blockCapability();
  std::set<std::string> created;
  for (int i = 0; i < 5; ++i)
    created.insert(createVolume("pvc-list-" + std::to_string(i), kMiB, cap));
  std::string node = csi_->nodeId();
  ASSERT_OK(csi_->controllerPublish(*created.begin(), node, cap));
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  bool sawPublished = false;
  do {
    csi::v1::ListVolumesRequest req;
    req.set_max_entries(2);
    req.set_starting_token(token);
    csi::v1::ListVolumesResponse resp;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().ListVolumes(ctx.get(), req, &resp));
    EXPECT_LE(resp.entries_size(), 2);
    for (const auto& e : resp.entries()) {
      seen.insert(e.volume().volume_id());
      if (e.volume().volume_id() == *created.begin()) {
        ASSERT_EQ(e.status().published_node_ids_size(), 1);
        EXPECT_EQ(e.status().published_node_ids(0), node);
        sawPublished = true;
      }
    }
    token = resp.next_token();
    ASSERT_LT(++pages, 10);
  } while (!token.empty());
  EXPECT_EQ(seen, created);
  EXPECT_TRUE(sawPublished);

  csi::v1::ListVolumesRequest bad;
  bad.set_starting_token("not-a-token");
  csi::v1::ListVolumesResponse resp;
  auto ctx = rpcContext();
  EXPECT_EQ(driver_->controller().ListVolumes(ctx.get(), bad, &resp).error_code(),
            grpc::StatusCode::ABORTED);
}

}  // namespace
}  // namespace polycsi::testing
