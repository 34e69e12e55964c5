#include "kube/controller_leadership.hpp"

#include <gtest/gtest.h>

#include "attach/attachment_manager.hpp"
#include "attach/attachment_store.hpp"
#include "fake_kube_api.hpp"
#include "temp_directory.hpp"

namespace polycsi::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeKubeApi;

constexpr const char* kToken = "leadership-token";
constexpr const char* kDriver = "polycsi.csi.io";
constexpr const char* kNamespace = "polycsi";

TEST(LeaderElectionNamesTest, AreTheSidecarsOwn) {
  // csi-lib-utils sanitizeName: [^a-zA-Z0-9-] becomes '-', a trailing '-' gets an X.
  EXPECT_EQ(attacherLeaseName("polycsi.csi.io"), "external-attacher-leader-polycsi-csi-io");
  EXPECT_EQ(sanitizeLeaderElectionName("ctrl_0.x"), "ctrl-0-x");
  EXPECT_EQ(sanitizeLeaderElectionName("trailing."), "trailing-X");
}

class ControllerLeadershipTest : public ::testing::Test {
 protected:
  ControllerLeadershipTest() : api_(kToken) {
    store_ = attach::AttachmentStore::open(dir_.file("attachments.db")).value();
    manager_ = attach::AttachmentManager::create(*store_, observer_).value();
    KubeConfig config;
    config.baseUrl = api_.baseUrl();
    config.token = kToken;
    config.timeout = 5000ms;
    client_ = KubeClient::create(config).value();
    reconciler_ = VolumeAttachmentReconciler::create(
                      *client_, *manager_, kDriver,
                      [](const std::string&, const nlohmann::json&) -> StatusOr<ResolvedVolume> {
                        return Status(Code::kInternal, "no volumes in these tests");
                      },
                      [](const std::string&, const std::string&) { return Status::ok(); })
                      .value();
  }
  void TearDown() override {
    EXPECT_EQ(api_.callsTheReferenceDoesNotList(), std::vector<std::string>{});
  }
  std::unique_ptr<ControllerLeadership> leadership(const std::string& identity = "ctrl-a") {
    return ControllerLeadership::create(*client_, *reconciler_,
                                        {kNamespace, attacherLeaseName(kDriver), identity})
        .value();
  }

  polycsi::testing::TempDir dir_{"polycsi-leadership"};
  FakeKubeApi api_;
  attach::NullMigrationObserver observer_;
  std::unique_ptr<attach::AttachmentStore> store_;
  std::unique_ptr<attach::AttachmentManager> manager_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<VolumeAttachmentReconciler> reconciler_;
};

TEST_F(ControllerLeadershipTest, RefusesOptionsTheClusterWouldNot) {
  auto make = [&](std::string ns, std::string lease, std::string identity) {
    return ControllerLeadership::create(*client_, *reconciler_, {ns, lease, identity}).status();
  };
  EXPECT_EQ(make("Polycsi", "lease", "a").code(), Code::kInvalidArgument);
  EXPECT_EQ(make("polycsi", "-lease", "a").code(), Code::kInvalidArgument);
  EXPECT_EQ(make("polycsi", "lease", "").code(), Code::kInvalidArgument);
  Status badIdentity = make("polycsi", "lease", "a b");
  EXPECT_EQ(badIdentity.code(), Code::kInvalidArgument);
  EXPECT_NE(badIdentity.message().find("\"a b\""), std::string::npos) << badIdentity.message();
  EXPECT_TRUE(make("polycsi", "lease.x", "ctrl-0").isOk());
}

TEST_F(ControllerLeadershipTest, LeadsOnlyWhileTheLeaseNamesItAndAfterAFreshPass) {
  auto self = leadership("ctrl-a");
  // No lease yet: no attacher leads; an answer, not an error.
  EXPECT_TRUE(self->pollOnce().isOk());
  EXPECT_FALSE(self->leading());
  Status standing = self->mayChangeAttachments("ControllerPublishVolume");
  EXPECT_EQ(standing.code(), Code::kUnavailable);
  EXPECT_NE(standing.message().find("standing by"), std::string::npos) << standing.message();

  api_.setLease(kNamespace, attacherLeaseName(kDriver), "ctrl-b");
  ASSERT_TRUE(self->pollOnce().isOk());
  EXPECT_FALSE(self->leading());

  // An earlier pass does not count: the other replica may have changed attachments since.
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  api_.setLease(kNamespace, attacherLeaseName(kDriver), "ctrl-a");
  ASSERT_TRUE(self->pollOnce().isOk());
  EXPECT_TRUE(self->leading());
  Status rebuilding = self->mayChangeAttachments("ControllerPublishVolume");
  EXPECT_EQ(rebuilding.code(), Code::kUnavailable);
  EXPECT_NE(rebuilding.message().find("just took over"), std::string::npos) << rebuilding.message();
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_TRUE(self->mayChangeAttachments("ControllerPublishVolume").isOk());

  // Losing the lease stops it at once; taking it again needs another pass.
  api_.setLease(kNamespace, attacherLeaseName(kDriver), "ctrl-b");
  ASSERT_TRUE(self->pollOnce().isOk());
  EXPECT_EQ(self->mayChangeAttachments("x").code(), Code::kUnavailable);
  api_.setLease(kNamespace, attacherLeaseName(kDriver), "ctrl-a");
  ASSERT_TRUE(self->pollOnce().isOk());
  EXPECT_EQ(self->mayChangeAttachments("x").code(), Code::kUnavailable);
  ASSERT_TRUE(reconciler_->reconcileOnce().isOk());
  EXPECT_TRUE(self->mayChangeAttachments("x").isOk());
}

TEST_F(ControllerLeadershipTest, AnUnreadableLeaseMeansStandingBy) {
  auto self = leadership("ctrl-a");
  api_.setLease(kNamespace, attacherLeaseName(kDriver), "ctrl-a");
  ASSERT_TRUE(self->pollOnce().isOk());
  ASSERT_TRUE(self->leading());
  api_.failWith(503);
  EXPECT_EQ(self->pollOnce().code(), Code::kUnavailable);
  EXPECT_FALSE(self->leading());
  api_.failWith(0);
}

TEST_F(ControllerLeadershipTest, AStandbyRefreshesBeforeJudgingAttachments) {
  auto self = leadership("ctrl-a");
  const uint64_t before = reconciler_->passesStarted();
  ASSERT_TRUE(self->refreshIfStandby("DeleteVolume").isOk());
  EXPECT_EQ(reconciler_->passesStarted(), before + 1);
  api_.failWith(503);
  Status failed = self->refreshIfStandby("DeleteVolume");
  EXPECT_EQ(failed.code(), Code::kUnavailable);
  EXPECT_NE(failed.message().find("DeleteVolume must wait"), std::string::npos) << failed.message();
  api_.failWith(0);
}

}  // namespace
}  // namespace polycsi::kube
