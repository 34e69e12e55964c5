#include "kube/volume_attachment_reconciler.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "attach/attachment_store.hpp"
#include "fake_kube_api.hpp"
#include "temp_directory.hpp"

namespace polycsi::kube {
namespace {

using namespace std::chrono_literals;
using testing::csiPersistentVolume;
using ::testing::ElementsAre;
using testing::FakeKubeApi;
using ::testing::IsEmpty;
using testing::volumeAttachment;

constexpr const char* kToken = "reconciler-token";
constexpr const char* kDriver = "polycsi.csi.io";

// The migration outcomes reported, as "completed node1->node2" / "failed(reason) node1->node2".
class OutcomeObserver : public attach::NullMigrationObserver {
 public:
  void migrationCompleted(const attach::VolumeAttachmentState&, const std::string& source,
                          const std::string& target, std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    outcomes_.push_back("completed " + source + "->" + target);
  }
  void migrationFailed(const attach::VolumeAttachmentState&, const std::string& source,
                       const std::string& target, const std::string& reason,
                       std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    outcomes_.push_back("failed(" + reason + ") " + source + "->" + target);
  }
  void attachmentConflict(const attach::VolumeAttachmentState&, const std::string& node,
                          const std::string&) override {
    std::lock_guard lock(mu_);
    outcomes_.push_back("conflict " + node);
  }
  std::vector<std::string> outcomes() const {
    std::lock_guard lock(mu_);
    return outcomes_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> outcomes_;
};

using Fenced = std::pair<std::string, std::string>;  // (volume handle, node id)

attach::VolumePolicy migrationPolicy() {
  attach::VolumePolicy policy;
  policy.semantics = AttachSemantics::kMigrationWindow;
  policy.migrationTimeout = 300s;
  return policy;
}

class ReconcilerTest : public ::testing::Test {
 protected:
  // Every request the reconciler made is one docs/fidelity.md lists with its public source.
  void TearDown() override {
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
  }
  ReconcilerTest() : api_(kToken) {
    auto store = attach::AttachmentStore::open(dir_.file("attachments.db"));
    if (!store.isOk()) throw std::runtime_error(store.status().toString());
    store_ = std::move(*store);
    manager_ = attach::AttachmentManager::create(*store_, observer_).value();
    // Nodes whose node plugin reports no identity: the CSI node id is the bare name.
    for (const char* node : {"node1", "node2", "node9"}) api_.setCsiNode(node, kDriver, node);
    KubeConfig config;
    config.baseUrl = api_.baseUrl();
    config.token = kToken;
    config.timeout = 5000ms;
    client_ = KubeClient::create(config).value();
    reconciler_ = VolumeAttachmentReconciler::create(
                      *client_, *manager_, kDriver,
                      [this](const std::string& volumeHandle,
                             const nlohmann::json& pv) -> StatusOr<ResolvedVolume> {
                        resolved_.push_back(volumeHandle);
                        ResolvedVolume volume;
                        volume.policy = migrationPolicy();
                        volume.backend = "rds";
                        volume.metricsPrefix = "rds_csi";
                        volume.pvc = {pv["spec"]["claimRef"].value("name", ""),
                                      pv["spec"]["claimRef"].value("namespace", "")};
                        return volume;
                      },
                      fencer())
                      .value();
  }
  ~ReconcilerTest() override {
    reconciler_.reset();
    manager_.reset();
    store_.reset();
  }

  // Attaches through the manager as ControllerPublish would.
  void publish(const std::string& volumeId, const std::string& node) {
    auto plan = manager_->planPublish(volumeId, node, migrationPolicy(), "rds", "rds_csi",
                                      {"vm-disk", "vms"});
    ASSERT_TRUE(plan.isOk()) << plan.status().toString();
    ASSERT_TRUE(manager_->commitPublish(*plan).isOk());
  }

  // Records every fence it is asked to close and answers fenceStatus_.
  Fencer fencer() {
    return [this](const std::string& volumeHandle, const std::string& nodeId) {
      fenced_.emplace_back(volumeHandle, nodeId);
      return fenceStatus_;
    };
  }

  polycsi::testing::TempDir dir_{"polycsi-reconcile"};
  FakeKubeApi api_;
  OutcomeObserver observer_;
  std::unique_ptr<attach::AttachmentStore> store_;
  std::unique_ptr<attach::AttachmentManager> manager_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<VolumeAttachmentReconciler> reconciler_;
  std::vector<std::string> resolved_;
  std::vector<Fenced> fenced_;
  Status fenceStatus_;
};

TEST_F(ReconcilerTest, RebuildsMissingAttachments) {
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
      // Another driver's attachment and one still attaching: neither is rebuilt.
      volumeAttachment("csi-b", "other.csi.io", "pv-other", "node2", true, "2024-05-01T10:00:00Z"),
      volumeAttachment("csi-c", kDriver, "pv-1", "node9", false, "2024-05-01T10:00:05Z"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  const auto state = manager_->state("rds:vol-1");
  EXPECT_THAT(state.nodes, ElementsAre("node1"));
  EXPECT_FALSE(state.migrationStartedAt.has_value());
  EXPECT_EQ(state.backend, "rds");
  EXPECT_EQ(state.pvc.name, "vm-disk");
  EXPECT_EQ(state.pvc.namespace_, "vms");
  EXPECT_THAT(manager_->all(), ::testing::SizeIs(1));

  // A second pass changes nothing and resolves nothing.
  resolved_.clear();
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
  EXPECT_THAT(resolved_, IsEmpty());
}

TEST_F(ReconcilerTest, KnowsNodesByTheDriversCsiNodeId) {
  // The attacher passed the node id from CSINode (carrying the host's NQN) to ControllerPublish;
  // the VolumeAttachment names only the Kubernetes node.
  const std::string nodeId = "node1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:1234";
  api_.setCsiNode("node1", kDriver, nodeId);
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments(
      {volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z")});
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre(nodeId));
  // A publish recorded under the full id is not forgotten on the next pass.
  publish("rds:vol-2", nodeId);
  api_.setPersistentVolume("pv-2", csiPersistentVolume("pv-2", kDriver, "rds:vol-2"));
  api_.setVolumeAttachments(
      {volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
       volumeAttachment("csi-b", kDriver, "pv-2", "node1", true, "2024-05-01T10:00:00Z")});
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-2").nodes, ElementsAre(nodeId));
}

TEST_F(ReconcilerTest, RebuildsAMigratingPairSourceFirst) {
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  // Listed target first: the creation time decides which node is the source.
  api_.setVolumeAttachments({
      volumeAttachment("csi-target", kDriver, "pv-1", "node2", true, "2024-05-01T10:05:00Z"),
      volumeAttachment("csi-source", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  const auto state = manager_->state("rds:vol-1");
  EXPECT_THAT(state.nodes, ElementsAre("node1", "node2"));
  EXPECT_TRUE(state.migrationStartedAt.has_value());
  EXPECT_EQ(state.migrationTimeout, 300s);
  // The window keeps the target's creation time (a lower bound of its start), not the time of
  // the rebuild: a restart never lengthens a dual attachment.
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*state.migrationStartedAt), 1714557900);
}

// The target's publish recorded the window's length (external-attacher keeps the publish
// context as status.attachmentMetadata): the rebuilt window has that length, not the one the
// volume's class gives now (here the resolver's 300 s). A source's record opens nothing; a
// malformed record falls back to the resolver's length.
TEST_F(ReconcilerTest, ARebuiltWindowKeepsTheLengthItsTargetRecorded) {
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setPersistentVolume("pv-2", csiPersistentVolume("pv-2", kDriver, "rds:vol-2"));
  auto recorded = [](nlohmann::json va, const std::string& seconds) {
    va["status"]["attachmentMetadata"] = {{"polycsi.io/migration-window-seconds", seconds},
                                          {"lun", "3"}};
    return va;
  };
  api_.setVolumeAttachments({
      recorded(volumeAttachment("a-src", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
               "45"),
      recorded(volumeAttachment("a-tgt", kDriver, "pv-1", "node2", true, "2024-05-01T10:05:00Z"),
               "120"),
      volumeAttachment("b-src", kDriver, "pv-2", "node1", true, "2024-05-01T10:00:00Z"),
      recorded(volumeAttachment("b-tgt", kDriver, "pv-2", "node2", true, "2024-05-01T10:05:00Z"),
               "forever"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  const auto recordedState = manager_->state("rds:vol-1");
  EXPECT_THAT(recordedState.nodes, ElementsAre("node1", "node2"));
  EXPECT_EQ(recordedState.migrationTimeout, 120s);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*recordedState.migrationStartedAt), 1714557900);
  const auto malformed = manager_->state("rds:vol-2");
  EXPECT_THAT(malformed.nodes, ElementsAre("node1", "node2"));
  EXPECT_EQ(malformed.migrationTimeout, 300s);
}

TEST_F(ReconcilerTest, AnnouncesTheFirstCompletePassOnce) {
  int announced = 0;
  reconciler_->onFirstCompletePass([&announced] { ++announced; });
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments(
      {volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
       volumeAttachment("csi-b", kDriver, "pv-missing", "node2", true, "2024-05-01T10:00:00Z")});
  // A VolumeAttachment whose volume is unknown: the attachments are not all known yet.
  EXPECT_FALSE(reconciler_->reconcileOnce().isOk());
  EXPECT_EQ(announced, 0);
  api_.failWith(503);
  EXPECT_FALSE(reconciler_->reconcileOnce().isOk());
  EXPECT_EQ(announced, 0);
  api_.failWith(0);
  api_.setPersistentVolume("pv-missing", csiPersistentVolume("pv-missing", kDriver, "rds:vol-2"));
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_EQ(announced, 1);
  EXPECT_THAT(manager_->state("rds:vol-2").nodes, ElementsAre("node2"));
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_EQ(announced, 1) << "announced once";
}

TEST_F(ReconcilerTest, ForgetsAttachmentsTheClusterDoesNotHave) {
  publish("rds:vol-1", "node1");
  publish("rds:vol-2", "node1");
  publish("rds:vol-2", "node2");  // migrating; only node2's VolumeAttachment remains
  api_.setPersistentVolume("pv-2", csiPersistentVolume("pv-2", kDriver, "rds:vol-2"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-x", kDriver, "pv-2", "node2", true, "2024-05-01T10:00:00Z"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, IsEmpty());
  const auto state = manager_->state("rds:vol-2");
  EXPECT_THAT(state.nodes, ElementsAre("node2"));
  EXPECT_FALSE(state.migrationStartedAt.has_value());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-1", "node1"}, Fenced{"rds:vol-2", "node1"}));
}

TEST_F(ReconcilerTest, KeepsAttachmentsWhoseVolumeAttachmentIsStillAttaching) {
  publish("rds:vol-1", "node1");
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-a", kDriver, "pv-1", "node1", false, "2024-05-01T10:00:00Z"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
}

TEST_F(ReconcilerTest, ForgetsNothingWhenTheListFails) {
  publish("rds:vol-1", "node1");
  api_.failWith(500);
  const Status status = reconciler_->reconcileOnce();
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("listing VolumeAttachments"));
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
}

TEST_F(ReconcilerTest, ForgetsNothingWhenAPersistentVolumeCannotBeRead) {
  publish("rds:vol-1", "node1");
  // pv-1 is not served: vol-1's VolumeAttachment cannot be mapped, so vol-1 must stay.
  api_.setVolumeAttachments({
      volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
  });
  const Status status = reconciler_->reconcileOnce();
  EXPECT_EQ(status.code(), Code::kNotFound);
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
}

TEST_F(ReconcilerTest, FollowsListPages) {
  api_.setPageSize(1);
  for (const char* name : {"pv-1", "pv-2", "pv-3"}) {
    api_.setPersistentVolume(name, csiPersistentVolume(name, kDriver, std::string("rds:") + name));
  }
  api_.setVolumeAttachments({
      volumeAttachment("csi-1", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
      volumeAttachment("csi-2", kDriver, "pv-2", "node1", true, "2024-05-01T10:00:00Z"),
      volumeAttachment("csi-3", kDriver, "pv-3", "node2", true, "2024-05-01T10:00:00Z"),
  });
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->all(), ::testing::SizeIs(3));
  EXPECT_THAT(manager_->state("rds:pv-3").nodes, ElementsAre("node2"));
}

TEST_F(ReconcilerTest, BusyVolumesAreLeftForTheNextPass) {
  volume::VolumeLocks locks;
  auto reconciler = VolumeAttachmentReconciler::create(
                        *client_, *manager_, kDriver,
                        [](const std::string&, const nlohmann::json&) -> StatusOr<ResolvedVolume> {
                          ResolvedVolume volume;
                          volume.policy = migrationPolicy();
                          volume.backend = "rds";
                          return volume;
                        },
                        fencer(), &locks)
                        .value();
  publish("rds:vol-1", "node1");
  api_.setVolumeAttachments({});
  {
    auto held = locks.tryLock("rds:vol-1");
    ASSERT_TRUE(held.has_value());
    ASSERT_TRUE(reconciler->reconcileOnce().isOk());
    EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
  }
  ASSERT_TRUE(reconciler->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, IsEmpty());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-1", "node1"})) << "fenced once, when forgotten";
}

TEST_F(ReconcilerTest, ForgettingClosesTheStorageFenceOfTheNodeFirst) {
  const std::string nodeId = "node1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:1234";
  api_.setCsiNode("node1", kDriver, nodeId);
  publish("rds:vol-1", nodeId);
  api_.setVolumeAttachments({});
  // The fence is asked for while the record still exists: never a record dropped first.
  reconciler_ = VolumeAttachmentReconciler::create(
                    *client_, *manager_, kDriver,
                    [](const std::string&, const nlohmann::json&) -> StatusOr<ResolvedVolume> {
                      return Status(Code::kInternal, "nothing to rebuild in this test");
                    },
                    [this](const std::string& volumeHandle, const std::string& node) {
                      fenced_.emplace_back(volumeHandle, node);
                      EXPECT_THAT(manager_->state(volumeHandle).nodes, ElementsAre(node));
                      return Status::ok();
                    })
                    .value();
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-1", nodeId}));
  EXPECT_THAT(manager_->all(), IsEmpty());
}

TEST_F(ReconcilerTest, AFailedFenceKeepsTheAttachmentUntilALaterPassClosesIt) {
  publish("rds:vol-1", "node1");
  api_.setVolumeAttachments({});
  fenceStatus_ = Status(Code::kUnavailable, "RouterOS 10.0.0.1:22 unreachable");
  const Status status = reconciler_->reconcileOnce();
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("volume rds:vol-1 on node node1"));
  EXPECT_THAT(status.message(), ::testing::HasSubstr("closing the storage fence"));
  EXPECT_THAT(status.message(), ::testing::HasSubstr("RouterOS 10.0.0.1:22 unreachable"));
  // Still recorded: DeleteVolume refuses, the fence is tried again.
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
  EXPECT_EQ(fenced_.size(), 1u);

  fenceStatus_ = Status::ok();
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, IsEmpty());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-1", "node1"}, Fenced{"rds:vol-1", "node1"}));
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_EQ(fenced_.size(), 2u) << "nothing left to fence";
}

TEST_F(ReconcilerTest, ForgettingAMigrationsSourceReportsNoMigrationOutcome) {
  publish("rds:vol-1", "node1");
  publish("rds:vol-1", "node2");  // migrating node1 -> node2
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-target", kDriver, "pv-1", "node2", true, "2024-05-01T10:00:00Z"),
  });
  // The first attempt cannot fence: nothing is reported and nothing is dropped.
  fenceStatus_ = Status(Code::kDeadlineExceeded, "unpublish timed out");
  EXPECT_EQ(reconciler_->reconcileOnce().code(), Code::kDeadlineExceeded);
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1", "node2"));
  fenceStatus_ = Status::ok();
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  const auto state = manager_->state("rds:vol-1");
  EXPECT_THAT(state.nodes, ElementsAre("node2"));
  EXPECT_FALSE(state.migrating());
  // The source was detached outside the driver: not a completed migration, not a failed one.
  EXPECT_THAT(observer_.outcomes(), IsEmpty());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-1", "node1"}, Fenced{"rds:vol-1", "node1"}));
}

TEST_F(ReconcilerTest, ANodeWhoseCsiNodeEntryIsMissingIsUnknownNotRenamed) {
  // node1's node plugin re-registers (a DaemonSet rollout): kubelet removed the driver's entry.
  const std::string node1 = "node1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:1111";
  api_.setCsiNode("node1", kDriver, node1);
  publish("rds:vol-1", node1);
  publish("rds:vol-2", node1);  // its VolumeAttachment is still listed, see below
  publish("rds:vol-3", "node2");
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-1", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
  });
  api_.removeCsiNodeDriver("node1", kDriver);

  Status status = reconciler_->reconcileOnce();
  EXPECT_EQ(status.code(), Code::kUnavailable);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("node node1 has no CSINode entry"));
  // Neither forgotten nor recorded again under the bare name (which would start a migration or
  // be refused as a conflict): node1 is unknown for now.
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre(node1));
  EXPECT_FALSE(manager_->state("rds:vol-1").migrating());
  EXPECT_THAT(manager_->state("rds:vol-2").nodes, ElementsAre(node1))
      << "a record on an unknown node may belong to its unmapped VolumeAttachments";
  // Known nodes are reconciled as usual.
  EXPECT_THAT(manager_->state("rds:vol-3").nodes, IsEmpty());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-3", "node2"}));
  EXPECT_THAT(observer_.outcomes(), IsEmpty());

  // The same while the whole CSINode is missing.
  api_.removeCsiNode("node1");
  EXPECT_EQ(reconciler_->reconcileOnce().code(), Code::kUnavailable);
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre(node1));
  EXPECT_THAT(manager_->state("rds:vol-2").nodes, ElementsAre(node1));

  // Registered again: vol-1 stays as it is, vol-2 (no VolumeAttachment) is forgotten.
  api_.setCsiNode("node1", kDriver, node1);
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre(node1));
  EXPECT_THAT(manager_->state("rds:vol-2").nodes, IsEmpty());
  EXPECT_THAT(fenced_, ElementsAre(Fenced{"rds:vol-3", "node2"}, Fenced{"rds:vol-2", node1}));
  EXPECT_THAT(observer_.outcomes(), IsEmpty());
}

TEST_F(ReconcilerTest, AVolumeAttachedOnAnUnknownNodeIsRebuiltOnlyOnceTheNodeIsKnown) {
  // The store was lost during a migration node1 -> node2, and node1's plugin is re-registering:
  // rebuilding node2 alone would make it the source once node1 is back.
  const std::string node1 = "node1|rds_nvme=nqn.2014-08.org.nvmexpress:uuid:1111";
  api_.removeCsiNode("node1");
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-source", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
      volumeAttachment("csi-target", kDriver, "pv-1", "node2", true, "2024-05-01T10:05:00Z"),
  });
  EXPECT_EQ(reconciler_->reconcileOnce().code(), Code::kUnavailable);
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, IsEmpty());

  api_.setCsiNode("node1", kDriver, node1);
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  const auto state = manager_->state("rds:vol-1");
  EXPECT_THAT(state.nodes, ElementsAre(node1, "node2"));
  EXPECT_TRUE(state.migrating());
}

// Arguments the reconciler cannot work with are refused when it is made, with what is wrong.
TEST_F(ReconcilerTest, CreateRefusesAMissingDriverNameResolverOrFencer) {
  const PolicyResolver resolver = [](const std::string&,
                                     const nlohmann::json&) -> StatusOr<ResolvedVolume> {
    return ResolvedVolume{};
  };
  const auto noName =
      VolumeAttachmentReconciler::create(*client_, *manager_, "", resolver, fencer());
  ASSERT_FALSE(noName.isOk());
  EXPECT_EQ(noName.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(noName.status().message(), "reconciler: driver name is empty");
  const auto noResolver =
      VolumeAttachmentReconciler::create(*client_, *manager_, kDriver, nullptr, fencer());
  EXPECT_EQ(noResolver.status().message(), "reconciler: policy resolver is empty");
  const auto noFencer =
      VolumeAttachmentReconciler::create(*client_, *manager_, kDriver, resolver, nullptr);
  EXPECT_EQ(noFencer.status().message(), "reconciler: fencer is empty");
}

TEST_F(ReconcilerTest, StartRefusesANonPositivePeriodAndASecondStart) {
  const Status zero = reconciler_->start(0s);
  EXPECT_EQ(zero.code(), Code::kInvalidArgument);
  EXPECT_EQ(zero.message(), "reconciliation period must be positive");
  ASSERT_TRUE(reconciler_->start(3600s).isOk());
  const Status again = reconciler_->start(3600s);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_EQ(again.message(), "VolumeAttachment reconciler already started");
  reconciler_->stop();
  ASSERT_TRUE(reconciler_->start(3600s).isOk()) << "stop() allows a new start";
  reconciler_->stop();
}

TEST_F(ReconcilerTest, PeriodicRunReconcilesAndStops) {
  api_.setPersistentVolume("pv-1", csiPersistentVolume("pv-1", kDriver, "rds:vol-1"));
  api_.setVolumeAttachments({
      volumeAttachment("csi-a", kDriver, "pv-1", "node1", true, "2024-05-01T10:00:00Z"),
  });
  ASSERT_TRUE(reconciler_->start(3600s).isOk());  // the first pass runs at once
  ASSERT_TRUE(api_.waitForRequests(2));           // list + PV
  reconciler_->stop();
  reconciler_->stop();
  EXPECT_THAT(manager_->state("rds:vol-1").nodes, ElementsAre("node1"));
}

}  // namespace
}  // namespace polycsi::kube
