// CSI group snapshots (GroupController) over gRPC against a real `polycsi serve` with the sample
// plugin, on real loop devices: a VM-shaped group of three disks is snapshotted in one call and
// each member restores to a volume with its disk's content; retries, a different set under
// the same name, a member that fails for want of space, Delete and Get of unknown groups.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "csi_calls.hpp"
#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "driver_test.hpp"
#include "group_snapshot_calls.hpp"

namespace polycsi::testing {
namespace {

constexpr int64_t kDiskBytes = 8 * kMiB;

class SampleGroupSnapshotTest : public DriverTest {
 protected:
  // `capacityBytes` > 0 limits what the backend offers (volumes plus snapshots).
  void start(int64_t capacityBytes = 0) {
    ASSERT_EQ(geteuid(), 0u) << "these tests attach loop devices: run them as root";
    std::string config =
        "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        "    settings:\n      directory: " +
        work_.str() + "/volumes\n";
    if (capacityBytes > 0)
      config += "      capacity_bytes: " + std::to_string(capacityBytes) + "\n";
    startDriver(config);
  }

  std::string createDisk(const std::string& name) {
    csi::v1::CreateVolumeResponse resp;
    auto status = csi_->create(name, kDiskBytes, blockCapability(), &resp);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return resp.volume().volume_id();
  }

  // Writes `text` at offset 0 of the block volume through the node path, as a pod would.
  void writeThroughNode(const std::string& volumeId, const std::string& text) {
    auto cap = blockCapability();
    std::string node = csi_->nodeId();
    std::string staging = work_.str() + "/s", target = work_.str() + "/t";
    ASSERT_OK(csi_->controllerPublish(volumeId, node, cap));
    ASSERT_OK(csi_->stage(volumeId, staging, cap));
    ASSERT_OK(csi_->publish(volumeId, staging, target, cap));
    int fd = open(target.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, text.data(), text.size(), 0), static_cast<ssize_t>(text.size()));
    fsync(fd);
    close(fd);
    ASSERT_OK(csi_->unpublish(volumeId, target));
    ASSERT_OK(csi_->unstage(volumeId, staging));
    ASSERT_OK(csi_->controllerUnpublish(volumeId, node));
  }

  // The first `length` bytes of the block volume, read through the node path.
  std::string readThroughNode(const std::string& volumeId, size_t length) {
    auto cap = blockCapability();
    std::string node = csi_->nodeId();
    std::string staging = work_.str() + "/s", target = work_.str() + "/t";
    std::string out(length, '\0');
    EXPECT_TRUE(csi_->controllerPublish(volumeId, node, cap).ok());
    EXPECT_TRUE(csi_->stage(volumeId, staging, cap).ok());
    EXPECT_TRUE(csi_->publish(volumeId, staging, target, cap).ok());
    int fd = open(target.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    if (fd >= 0) {
      EXPECT_EQ(pread(fd, out.data(), length, 0), static_cast<ssize_t>(length));
      close(fd);
    }
    EXPECT_TRUE(csi_->unpublish(volumeId, target).ok());
    EXPECT_TRUE(csi_->unstage(volumeId, staging).ok());
    EXPECT_TRUE(csi_->controllerUnpublish(volumeId, node).ok());
    return out;
  }

  // Three disks of a VM (root, data, scratch), each with its own content.
  std::vector<std::string> vmDisks(std::map<std::string, std::string>* contents) {
    std::vector<std::string> disks;
    for (const char* name : {"vm1-rootdisk", "vm1-datadisk", "vm1-scratch"}) {
      std::string id = createDisk(name);
      std::string text = std::string("content of ") + name;
      writeThroughNode(id, text);
      (*contents)[id] = text;
      disks.push_back(id);
    }
    return disks;
  }
};

TEST_F(SampleGroupSnapshotTest, VmGroupIsSnapshottedOnceAndEveryMemberRestoresItsDisk) {
  start();
  // Advertised: the plugin declares a group consistency.
  csi::v1::GetPluginCapabilitiesResponse plugin;
  auto c1 = rpcContext();
  ASSERT_OK(driver_->identity().GetPluginCapabilities(c1.get(), {}, &plugin));
  bool groupService = false;
  for (const auto& c : plugin.capabilities())
    groupService = groupService || c.service().type() ==
                                       csi::v1::PluginCapability::Service::GROUP_CONTROLLER_SERVICE;
  EXPECT_TRUE(groupService);
  csi::v1::GroupControllerGetCapabilitiesResponse caps;
  auto c2 = rpcContext();
  ASSERT_OK(driver_->groupController().GroupControllerGetCapabilities(c2.get(), {}, &caps));
  ASSERT_EQ(caps.capabilities_size(), 1);
  EXPECT_EQ(
      caps.capabilities(0).rpc().type(),
      csi::v1::GroupControllerServiceCapability::RPC::CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT);

  std::map<std::string, std::string> contents;
  auto disks = vmDisks(&contents);
  csi::v1::CreateVolumeGroupSnapshotResponse created, retried, reordered;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  const auto& group = created.group_snapshot();
  EXPECT_TRUE(group.ready_to_use());
  ASSERT_EQ(group.snapshots_size(), 3);
  EXPECT_EQ(group.group_snapshot_id().rfind("local:", 0), 0u) << group.group_snapshot_id();
  std::set<std::string> sources;
  for (const auto& s : group.snapshots()) {
    EXPECT_EQ(s.group_snapshot_id(), group.group_snapshot_id());
    EXPECT_TRUE(s.ready_to_use());
    sources.insert(s.source_volume_id());
  }
  EXPECT_EQ(sources, std::set<std::string>(disks.begin(), disks.end()));

  // A retry, in any order of the sources, is the same group with the same members.
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &retried));
  std::vector<std::string> backwards(disks.rbegin(), disks.rend());
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", backwards, &reordered));
  for (const auto* again : {&retried, &reordered}) {
    EXPECT_EQ(again->group_snapshot().group_snapshot_id(), group.group_snapshot_id());
    EXPECT_EQ(memberIds(again->group_snapshot()), memberIds(group));
  }
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_EQ(all.size(), 3u) << "a retry must not take the snapshots again";

  // GetSnapshot and ListSnapshots name the group of each member.
  for (const auto& member : group.snapshots()) {
    csi::v1::GetSnapshotRequest get;
    get.set_snapshot_id(member.snapshot_id());
    csi::v1::GetSnapshotResponse got;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().GetSnapshot(ctx.get(), get, &got));
    EXPECT_EQ(got.snapshot().group_snapshot_id(), group.group_snapshot_id());
  }
  for (const auto& s : all) EXPECT_EQ(s.group_snapshot_id(), group.group_snapshot_id());

  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  ASSERT_OK(getGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group), &fetched));
  EXPECT_EQ(memberIds(fetched.group_snapshot()), memberIds(group));
  EXPECT_TRUE(fetched.group_snapshot().ready_to_use());

  // The VM's disks change after the snapshot; each restored member has the content it had.
  for (const auto& disk : disks) writeThroughNode(disk, "overwritten after the snapshot");
  for (const auto& member : group.snapshots()) {
    auto req =
        createRequest("restored-" + member.snapshot_id().substr(6), kDiskBytes, blockCapability());
    req.mutable_volume_content_source()->mutable_snapshot()->set_snapshot_id(member.snapshot_id());
    csi::v1::CreateVolumeResponse restored;
    auto ctx = rpcContext();
    ASSERT_OK(driver_->controller().CreateVolume(ctx.get(), req, &restored));
    const std::string& expected = contents.at(member.source_volume_id());
    EXPECT_EQ(readThroughNode(restored.volume().volume_id(), expected.size()), expected)
        << "restored from " << member.snapshot_id() << " of " << member.source_volume_id();
    ASSERT_OK(csi_->deleteVolume(restored.volume().volume_id()));
  }

  // Delete removes every member; again is success; then the group is NOT_FOUND.
  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  ASSERT_OK(deleteGroupSnapshot(*driver_, group.group_snapshot_id(), memberIds(group)));
  all.clear();
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left";
  EXPECT_EQ(getGroupSnapshot(*driver_, group.group_snapshot_id(), {}, &fetched).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(SampleGroupSnapshotTest, SameNameWithOtherVolumesIsAlreadyExists) {
  start();
  std::map<std::string, std::string> contents;
  auto disks = vmDisks(&contents);
  std::string other = createDisk("vm2-rootdisk");
  csi::v1::CreateVolumeGroupSnapshotResponse created, refused;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created));
  // One disk more, one disk fewer, one disk swapped: each is another group under that name.
  std::vector<std::vector<std::string>> others = {
      {disks[0], disks[1], disks[2], other}, {disks[0], disks[1]}, {disks[0], disks[1], other}};
  for (const auto& set : others) {
    auto status = createGroupSnapshot(*driver_, "groupsnapshot-vm1", set, &refused);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS)
        << set.size() << " volumes: " << status.error_message();
  }
  // Nothing was taken for the refused requests, and the group is whole.
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_EQ(all.size(), 3u);
  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  ASSERT_OK(getGroupSnapshot(*driver_, created.group_snapshot().group_snapshot_id(),
                             memberIds(created.group_snapshot()), &fetched));
  EXPECT_EQ(fetched.group_snapshot().snapshots_size(), 3);
}

TEST_F(SampleGroupSnapshotTest, MemberThatRunsOutOfSpaceRollsBackTheWholeGroup) {
  // Three 8 MiB disks and room for two 8 MiB snapshots: the third member fails in the plugin.
  start(5 * kDiskBytes);
  std::map<std::string, std::string> contents;
  auto disks = vmDisks(&contents);
  std::vector<std::string> sorted = disks;
  std::sort(sorted.begin(), sorted.end());
  csi::v1::CreateVolumeGroupSnapshotResponse created;
  auto status = createGroupSnapshot(*driver_, "groupsnapshot-vm1", disks, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  // The error names the volume whose snapshot failed (the last in the group's order).
  EXPECT_NE(status.error_message().find("snapshot of volume " + sorted[2]), std::string::npos)
      << status.error_message();
  EXPECT_NE(status.error_message().find("deleted the 2 member snapshot(s)"), std::string::npos)
      << status.error_message();
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_TRUE(all.empty()) << all.size() << " snapshots left after the rollback";

  // Nothing of the failed group remains to hold the name: two disks, which fit, are taken.
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-vm1", {disks[0], disks[1]}, &created));
  EXPECT_EQ(created.group_snapshot().snapshots_size(), 2);
}

TEST_F(SampleGroupSnapshotTest, UnknownGroupsAreNotFoundAndDeletedAlready) {
  start();
  csi::v1::GetVolumeGroupSnapshotResponse fetched;
  for (const std::string id :
       {"local:grp-never-made-0123456789abcdef-01234567", "local:not-a-group", "nonsense"})
    EXPECT_EQ(getGroupSnapshot(*driver_, id, {}, &fetched).error_code(),
              grpc::StatusCode::NOT_FOUND)
        << id;
  ASSERT_OK(deleteGroupSnapshot(*driver_, "local:grp-never-made-0123456789abcdef-01234567", {}));
  ASSERT_OK(deleteGroupSnapshot(*driver_, "nonsense", {}));

  // snapshot_ids that are not the group's members: INVALID_ARGUMENT, and nothing is deleted.
  std::map<std::string, std::string> contents;
  auto disks = vmDisks(&contents);
  csi::v1::CreateVolumeGroupSnapshotResponse a, b;
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-a", {disks[0], disks[1]}, &a));
  ASSERT_OK(createGroupSnapshot(*driver_, "groupsnapshot-b", {disks[2]}, &b));
  auto wrong = memberIds(a.group_snapshot());
  wrong.push_back(b.group_snapshot().snapshots(0).snapshot_id());
  EXPECT_EQ(
      deleteGroupSnapshot(*driver_, a.group_snapshot().group_snapshot_id(), wrong).error_code(),
      grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(getGroupSnapshot(*driver_, a.group_snapshot().group_snapshot_id(),
                             {a.group_snapshot().snapshots(0).snapshot_id()}, &fetched)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<csi::v1::Snapshot> all;
  ASSERT_OK(listAllSnapshots(*driver_, &all));
  EXPECT_EQ(all.size(), 3u);
}

}  // namespace
}  // namespace polycsi::testing
