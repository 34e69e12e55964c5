// Two controller replicas (deploy/base/controller.yaml) with the rds_nvme plugin against one
// rds-sim and a local fake Kubernetes API, each following its attacher's leader lease
// (core/kube/controller_leadership.hpp). The leader is killed in the middle of a KubeVirt live
// migration and the lease moves to the standby, as external-attacher's leader election moves
// it: the standby serves nothing before it leads, rebuilds the migration from the
// VolumeAttachments before it serves, keeps the rules (no third node) and the fence (the
// export's allow-list), and a standby never closes a fence.
#include <gtest/gtest.h>

#include <ctime>
#include <fstream>
#include <map>
#include <thread>

#include "fake_kube_api.hpp"
#include "rds_driver_harness.hpp"

namespace polycsi::reliability {
namespace {

using grpc::StatusCode;
using kube::testing::FakeKubeApi;
using testing::DriverProcess;

constexpr char kToken[] = "takeover-token";
constexpr char kDriver[] = "polycsi.csi.io";
constexpr char kNamespace[] = "polycsi";
// external-attacher's lease for polycsi.csi.io (cmd/csi-attacher/main.go, sanitized).
constexpr char kLease[] = "external-attacher-leader-polycsi-csi-io";

// A VolumeAttachment creationTimestamp `secondsAgo` before now (RFC 3339, UTC).
std::string timestampAgo(int secondsAgo) {
  std::time_t at = std::time(nullptr) - secondsAgo;
  std::tm utc{};
  gmtime_r(&at, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

class ControllerTakeoverTest : public RdsHarnessTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startSim());
    std::ofstream(work_.str() + "/token") << kToken;
    for (int i = 1; i <= 3; ++i) api_.setCsiNode(testNode(i).name, kDriver, testNode(i).id());
    api_.setLease(kNamespace, kLease, "ctrl-a");
    standby_ = std::make_unique<RdsDriverHarness>(work_.str() + "/replica-b", *sim_);
    std::filesystem::create_directories(work_.str() + "/replica-b");
    harness_->startDriver("", argsFor("ctrl-a"));
    standby_->startDriver("", argsFor("ctrl-b"));
  }
  void TearDown() override {
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
    if (HasFailure() && standby_ && standby_->started())
      std::cerr << "replica b log:\n" << standby_->driver().log();
    standby_.reset();
    stopAll();
  }

  std::vector<std::string> argsFor(const std::string& identity) {
    return {"--kubernetes-api",
            api_.baseUrl(),
            "--kubernetes-token-file",
            work_.str() + "/token",
            "--volume-attachment-resync",
            "5",
            "--leader-election",
            "--leader-election-namespace",
            kNamespace,
            "--leader-election-identity",
            identity};
  }

  // The PV and VolumeAttachment of `volume` on `node`, created at `createdAt`, as the cluster
  // holds them before the attacher calls ControllerPublishVolume (attached false) and after
  // (true). `accessMode` is the PV's.
  // `published`, when given, is the answer of the publish that attached it: external-attacher
  // keeps its publish_context as status.attachmentMetadata (v4.7.0 pkg/controller/util.go,
  // markAsAttached).
  void clusterAttaches(const csi::v1::Volume& volume, const TestNode& node,
                       const std::string& createdAt, bool attached,
                       const std::string& accessMode = "ReadWriteMany",
                       const csi::v1::ControllerPublishVolumeResponse* published = nullptr) {
    const std::string pvName = "pv-" + slotOf(volume.volume_id());
    nlohmann::json pv = kube::testing::csiPersistentVolume(pvName, kDriver, volume.volume_id());
    pv["spec"]["accessModes"] = {accessMode};
    for (const auto& [key, value] : volume.volume_context())
      pv["spec"]["csi"]["volumeAttributes"][key] = value;
    if (auto it = pvClasses_.find(pvName); it != pvClasses_.end())
      pv["spec"]["volumeAttributesClassName"] = it->second;
    api_.setPersistentVolume(pvName, pv);
    const std::string name = "va-" + slotOf(volume.volume_id()) + "-" + node.name;
    std::erase_if(attachments_,
                  [&](const nlohmann::json& va) { return va["metadata"]["name"] == name; });
    nlohmann::json va =
        kube::testing::volumeAttachment(name, kDriver, pvName, node.name, attached, createdAt);
    if (published != nullptr)
      for (const auto& [key, value] : published->publish_context())
        va["status"]["attachmentMetadata"][key] = value;
    attachments_.push_back(va);
    api_.setVolumeAttachments(attachments_);
  }
  // What a VolumeAttributesClass change of `volume` to `seconds` of migrationTimeoutSeconds
  // does: external-resizer calls ControllerModifyVolume on `replica` and, once it succeeded,
  // records the class on the PV (v1.12.0 pkg/modifycontroller/modify_status.go).
  void classChangesWindow(RdsDriverHarness& replica, const csi::v1::Volume& volume,
                          const std::string& className, int seconds) {
    csi::v1::ControllerModifyVolumeRequest req;
    req.set_volume_id(volume.volume_id());
    (*req.mutable_mutable_parameters())["migrationTimeoutSeconds"] = std::to_string(seconds);
    csi::v1::ControllerModifyVolumeResponse resp;
    auto ctx = testing::rpcContext(30);
    grpc::Status s = replica.driver().controller().ControllerModifyVolume(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    api_.setVolumeAttributesClass(className, kDriver,
                                  {{"migrationTimeoutSeconds", std::to_string(seconds)}});
    const std::string pvName = "pv-" + slotOf(volume.volume_id());
    pvClasses_[pvName] = className;
    nlohmann::json pv = kube::testing::csiPersistentVolume(pvName, kDriver, volume.volume_id());
    pv["spec"]["accessModes"] = {"ReadWriteMany"};
    for (const auto& [key, value] : volume.volume_context())
      pv["spec"]["csi"]["volumeAttributes"][key] = value;
    pv["spec"]["volumeAttributesClassName"] = className;
    api_.setPersistentVolume(pvName, pv);
  }
  // How many VolumeAttachment lists the API server answered so far (both replicas).
  size_t attachmentLists() {
    size_t n = 0;
    for (const auto& r : api_.requests()) n += r.find("/volumeattachments") != std::string::npos;
    return n;
  }

  // Calls `rpc` while it answers UNAVAILABLE (a replica waiting for its lease or its rebuild),
  // at most ~30 s; returns the first other answer.
  static grpc::Status pastUnavailable(const std::function<grpc::Status()>& rpc) {
    grpc::Status s;
    for (int i = 0; i < 300; ++i) {
      s = rpc();
      if (s.error_code() != StatusCode::UNAVAILABLE) return s;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

  FakeKubeApi api_{kToken};
  std::unique_ptr<RdsDriverHarness> standby_;
  std::vector<nlohmann::json> attachments_;
  std::map<std::string, std::string> pvClasses_;  // PV name -> volumeAttributesClassName
};

TEST_F(ControllerTakeoverTest, TheStandbyTakesOverMidMigrationWithTheRulesAndTheFence) {
  const TestNode a = testNode(1), b = testNode(2), c = testNode(3);
  csi::v1::Volume vm;
  ASSERT_TRUE(harness_
                  ->create(volumeName(7, 1),
                           testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                           {{"migrationTimeoutSeconds", "600"}}, &vm)
                  .ok());

  // The leader publishes to the source and, for the migration, to the target, each after the
  // cluster made its VolumeAttachment.
  clusterAttaches(vm, a, timestampAgo(60), false);
  ASSERT_TRUE(pastUnavailable([&] {
                return harness_->publish(vm, a, Mode::MULTI_NODE_MULTI_WRITER);
              }).ok());
  clusterAttaches(vm, a, timestampAgo(60), true);
  clusterAttaches(vm, b, timestampAgo(30), false);
  ASSERT_TRUE(harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER).ok());
  clusterAttaches(vm, b, timestampAgo(30), true);

  // The standby serves no attachment change while the other replica's attacher leads.
  grpc::Status standing = standby_->publish(vm, c, Mode::MULTI_NODE_MULTI_WRITER);
  EXPECT_EQ(standing.error_code(), StatusCode::UNAVAILABLE);
  EXPECT_NE(standing.error_message().find("standing by"), std::string::npos)
      << standing.error_message();

  // The leader's pod dies mid-migration; its attacher's lease passes to the standby's.
  harness_->killDriver();
  api_.setLease(kNamespace, kLease, "ctrl-b");

  // The new leader rebuilt the migration before deciding: a third node is refused, as the old
  // leader would have refused it.
  grpc::Status third =
      pastUnavailable([&] { return standby_->publish(vm, c, Mode::MULTI_NODE_MULTI_WRITER); });
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
  EXPECT_NE(third.error_message().find("already attached to 2 nodes (migration limit)"),
            std::string::npos)
      << third.error_message();
  expectHeldBy(*standby_, *sim_, vm, {a, b}, "after the takeover");

  // The migration completes on the new leader.
  ASSERT_TRUE(standby_->unpublish(vm, a).ok());
  std::erase_if(attachments_,
                [&](const nlohmann::json& va) { return va["spec"]["nodeName"] == a.name; });
  api_.setVolumeAttachments(attachments_);
  expectHeldBy(*standby_, *sim_, vm, {b}, "after the handoff on the new leader");
}

TEST_F(ControllerTakeoverTest, AStandbyNeverClosesAFenceTheLeaderMayHaveOpened) {
  const TestNode a = testNode(1);
  csi::v1::Volume rwo;
  ASSERT_TRUE(
      harness_
          ->create(volumeName(7, 2), testing::blockCapability(Mode::SINGLE_NODE_WRITER), {}, &rwo)
          .ok());
  clusterAttaches(rwo, a, "2026-12-06T10:00:00Z", false, "ReadWriteOnce");
  ASSERT_TRUE(
      pastUnavailable([&] { return harness_->publish(rwo, a, Mode::SINGLE_NODE_WRITER); }).ok());
  clusterAttaches(rwo, a, "2026-12-06T10:00:00Z", true, "ReadWriteOnce");
  // The standby learns the attachment from the cluster.
  std::vector<std::string> nodes;
  for (int i = 0; i < 300 && nodes.empty(); ++i) {
    ASSERT_TRUE(standby_->publishedNodes(rwo.volume_id(), &nodes).ok());
    if (nodes.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(nodes, std::vector<std::string>{a.id()});

  // The leader is gone and the cluster no longer names the attachment; the lease still names
  // the dead leader. The standby's passes must leave the export alone.
  harness_->killDriver();
  attachments_.clear();
  api_.setVolumeAttachments({});
  // Two more lists: the standby ran at least one whole pass on the new view.
  const size_t listsBefore = attachmentLists();
  for (int i = 0; i < 300 && attachmentLists() < listsBefore + 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_GE(attachmentLists(), listsBefore + 2) << "the standby ran no pass";
  EXPECT_EQ(allowedHosts(*sim_, slotOf(rwo.volume_id())), std::vector<std::string>{a.nqn})
      << "a standby closed the fence";

  // Leading, it fences what no VolumeAttachment names.
  api_.setLease(kNamespace, kLease, "ctrl-b");
  std::vector<std::string> hosts;
  for (int i = 0; i < 300; ++i) {
    hosts = allowedHosts(*sim_, slotOf(rwo.volume_id()));
    if (hosts == std::vector<std::string>{kFencedPlaceholder}) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(hosts, std::vector<std::string>{kFencedPlaceholder});
}

// The new leader's window starts at the target VolumeAttachment's creation, never at the
// takeover: a migration that began an hour ago has no window left on the new leader either.
TEST_F(ControllerTakeoverTest, ARebuiltMigrationKeepsItsStartAcrossTheTakeover) {
  const TestNode a = testNode(1), b = testNode(2), c = testNode(3);
  csi::v1::Volume vm;
  ASSERT_TRUE(harness_
                  ->create(volumeName(7, 3),
                           testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                           {{"migrationTimeoutSeconds", "600"}}, &vm)
                  .ok());
  clusterAttaches(vm, a, timestampAgo(7200), false);
  ASSERT_TRUE(pastUnavailable([&] {
                return harness_->publish(vm, a, Mode::MULTI_NODE_MULTI_WRITER);
              }).ok());
  clusterAttaches(vm, a, timestampAgo(7200), true);
  clusterAttaches(vm, b, timestampAgo(3600), false);
  ASSERT_TRUE(harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER).ok());
  clusterAttaches(vm, b, timestampAgo(3600), true);

  harness_->killDriver();
  api_.setLease(kNamespace, kLease, "ctrl-b");
  grpc::Status third =
      pastUnavailable([&] { return standby_->publish(vm, c, Mode::MULTI_NODE_MULTI_WRITER); });
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
  EXPECT_NE(third.error_message().find("migration timeout exceeded (1h"), std::string::npos)
      << third.error_message();
  expectHeldBy(*standby_, *sim_, vm, {a, b}, "after the takeover");
}

// A VolumeAttributesClass that lengthens the window while a migration is open applies to the
// next migration only (docs/kubevirt-migration.md), also across a takeover by a replica that
// never saw the window open (here one started after the class changed, as a replacement pod
// is): the new leader rebuilds the window with the start and the length it opened with, not
// the class's new length. The migration opened 400 s ago (its target's VolumeAttachment) with
// the StorageClass's 300 s, so on the new leader it has timed out; recomputed from the new
// class (1800 s) it would still be open, and a third node would get the migration-limit
// refusal instead.
TEST_F(ControllerTakeoverTest, AnOpenWindowKeepsItsLengthWhenTheClassChangesBeforeATakeover) {
  const TestNode a = testNode(1), b = testNode(2), c = testNode(3);
  csi::v1::Volume vm;
  ASSERT_TRUE(harness_
                  ->create(volumeName(7, 4),
                           testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                           {{"migrationTimeoutSeconds", "300"}}, &vm)
                  .ok());
  csi::v1::ControllerPublishVolumeResponse published;
  clusterAttaches(vm, a, timestampAgo(7200), false);
  ASSERT_TRUE(pastUnavailable([&] {
                return harness_->publish(vm, a, Mode::MULTI_NODE_MULTI_WRITER, &published);
              }).ok());
  clusterAttaches(vm, a, timestampAgo(7200), true, "ReadWriteMany", &published);
  clusterAttaches(vm, b, timestampAgo(400), false);
  ASSERT_TRUE(harness_->publish(vm, b, Mode::MULTI_NODE_MULTI_WRITER, &published).ok());
  clusterAttaches(vm, b, timestampAgo(400), true, "ReadWriteMany", &published);

  // The class changes while the window is open; the leader says the open window keeps its
  // length.
  ASSERT_NO_FATAL_FAILURE(classChangesWindow(*harness_, vm, "long-migrations", 1800));

  // The leader dies; a replica that never saw the window open takes the lease.
  harness_->killDriver();
  standby_.reset();
  RdsDriverHarness replacement(work_.str() + "/replica-c", *sim_);
  std::filesystem::create_directories(work_.str() + "/replica-c");
  replacement.startDriver("", argsFor("ctrl-c"));
  api_.setLease(kNamespace, kLease, "ctrl-c");

  grpc::Status third =
      pastUnavailable([&] { return replacement.publish(vm, c, Mode::MULTI_NODE_MULTI_WRITER); });
  EXPECT_EQ(third.error_code(), StatusCode::FAILED_PRECONDITION) << third.error_message();
  EXPECT_NE(third.error_message().find("migration timeout exceeded ("), std::string::npos)
      << third.error_message();
  EXPECT_NE(third.error_message().find(", 5m0s max)"), std::string::npos) << third.error_message();
  expectHeldBy(replacement, *sim_, vm, {a, b}, "after the takeover");
  if (HasFailure()) std::cerr << "replica c log:\n" << replacement.driver().log();
}

}  // namespace
}  // namespace polycsi::reliability
