// The node side through the plugin's C table (FakeHost): what attach hands the core to mount.
// Mounting itself is the core's (core/node), and needs a kernel NFS client, which this machine
// lacks: the VM lab mounts for real.
#include <gtest/gtest.h>

#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::nfs {
namespace {

class NfsNodeTest : public ::testing::Test {
 protected:
  PluginInstance& start(StringMap settings) {
    InstanceConfig config;
    config.instanceName = "nfs-node";
    config.role = Role::kNode;
    config.settings = std::move(settings);
    auto started = host_.start(polycsi_plugin_entry(), config);
    EXPECT_TRUE(started.isOk()) << started.status().toString();
    instance_ = std::move(started).value();
    return *instance_;
  }
  static AttachRequest request(StringMap context) {
    AttachRequest r;
    r.volumeId = "pvc-1";
    r.volumeMode = VolumeMode::kFilesystem;
    r.volumeContext = std::move(context);
    r.stagingPath = "/var/lib/kubelet/staging/pvc-1";
    return r;
  }

  polycsi::testing::FakeHost host_;
  std::unique_ptr<PluginInstance> instance_;
};

TEST_F(NfsNodeTest, AttachReturnsTheMountSourceTypeAndOptions) {
  auto& node = start({{"mount_options", "hard,timeo=600"}});
  auto a = node.attach(
      request({{"server", "nas1.example.com"}, {"share", "/fs1"}, {"subDir", "team-a/data"}}));
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ(a->kind, Attachment::Kind::kMountSource);
  EXPECT_EQ(a->mountSource, "nas1.example.com:/fs1/team-a/data");
  EXPECT_EQ(a->fsType, "nfs");
  EXPECT_EQ(a->mountOptions, (std::vector<std::string>{"hard", "timeo=600"}));
  // Attaching again is the same answer; detaching has nothing to undo.
  auto again = node.attach(
      request({{"server", "nas1.example.com"}, {"share", "/fs1"}, {"subDir", "team-a/data"}}));
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->mountSource, a->mountSource);
  EXPECT_TRUE(node.detach(DetachRequest{{}, "pvc-1", "/staging"}).isOk());
  auto identity = node.nodeIdentity(Call{});
  ASSERT_TRUE(identity.isOk());
  EXPECT_EQ(*identity, "");
}

TEST_F(NfsNodeTest, RootShareHasNoDoubleSlash) {
  auto& node = start({});
  auto a = node.attach(request({{"server", "10.0.0.5"}, {"share", "/"}, {"subDir", "v"}}));
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  EXPECT_EQ(a->mountSource, "10.0.0.5:/v");
  EXPECT_TRUE(a->mountOptions.empty());
}

TEST_F(NfsNodeTest, RefusesATamperedContextAndBlockMode) {
  auto& node = start({});
  for (const StringMap& context : std::vector<StringMap>{
           {{"server", "nas"}, {"share", "/fs"}, {"subDir", "../etc"}},
           {{"server", "nas"}, {"share", "/fs"}, {"subDir", "/etc"}},
           {{"server", "nas"}, {"share", "fs"}, {"subDir", "v"}},
           {{"server", "-o bad"}, {"share", "/fs"}, {"subDir", "v"}},
           {{"server", "nas"}, {"share", "/fs"}},
       }) {
    auto a = node.attach(request(context));
    EXPECT_FALSE(a.isOk());
    EXPECT_EQ(a.status().code(), Code::kInvalidArgument) << a.status().toString();
  }
  auto r = request({{"server", "nas"}, {"share", "/fs"}, {"subDir", "v"}});
  r.volumeMode = VolumeMode::kBlock;
  auto block = node.attach(r);
  ASSERT_FALSE(block.isOk());
  EXPECT_EQ(block.status().code(), Code::kInvalidArgument);
}

TEST_F(NfsNodeTest, ControllerWithoutExportDoesNotStart) {
  InstanceConfig config;
  config.instanceName = "nfs-controller";
  config.role = Role::kController;
  auto started = host_.start(polycsi_plugin_entry(), config);
  ASSERT_FALSE(started.isOk());
  EXPECT_EQ(started.status().code(), Code::kInvalidArgument);
  EXPECT_NE(started.status().message().find("server"), std::string::npos);
}

}  // namespace
}  // namespace polycsi::nfs
