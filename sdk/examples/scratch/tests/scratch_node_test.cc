// The scratch plugin's node side, through the FakeHost: attach builds the tmpfs mount the core
// will perform, from the volume context alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scratch_backend.hpp"
#include "scratch_test_env.hpp"

namespace scratch::testing {
namespace {

using polycsi::Attachment;
using polycsi::Code;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

polycsi::AttachRequest attachRequest(const std::string& id, polycsi::StringMap context) {
  return polycsi::AttachRequest{.volumeId = id,
                                .volumeMode = polycsi::VolumeMode::kFilesystem,
                                .volumeContext = std::move(context),
                                .stagingPath = "/var/lib/kubelet/staging/" + id};
}

TEST_F(ScratchTest, AttachDescribesATmpfsFromTheContextTheControllerReturned) {
  auto controller = start();
  ASSERT_TRUE(controller);
  auto volume = controller->createVolume(create("pvc-n", 3 * 4096, {{"mode", "0700"}}));
  ASSERT_TRUE(volume.isOk());

  // The node instance has its own (empty) state: the context is all it gets.
  TempDir nodeState;
  auto node =
      host_.start(polycsi_plugin_entry(), polycsi::InstanceConfig{.instanceName = "scratch-node",
                                                                  .role = polycsi::Role::kNode,
                                                                  .stateDir = nodeState.path()});
  ASSERT_TRUE(node.isOk());
  auto attached = (*node)->attach(attachRequest("pvc-n", volume->context));
  ASSERT_TRUE(attached.isOk()) << attached.status().toString();
  EXPECT_EQ(attached->kind, Attachment::Kind::kMountSource);
  EXPECT_EQ(attached->mountSource, "scratch-pvc-n");
  EXPECT_EQ(attached->fsType, "tmpfs");
  EXPECT_THAT(attached->mountOptions, ElementsAre("size=12288", "mode=0700"));

  auto again = (*node)->attach(attachRequest("pvc-n", volume->context));
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->mountSource, attached->mountSource);
  EXPECT_TRUE((*node)->detach({.volumeId = "pvc-n"}).isOk());
  EXPECT_TRUE((*node)->detach({.volumeId = "pvc-n"}).isOk());
  auto identity = (*node)->nodeIdentity({});
  ASSERT_TRUE(identity.isOk());
  EXPECT_EQ(*identity, "");
}

TEST_F(ScratchTest, AttachRefusesAMissingOrForgedContext) {
  auto node = start();
  ASSERT_TRUE(node);
  auto missing = node->attach(attachRequest("pvc-x", {}));
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr(kSizeContextKey));

  for (const auto& [size, mode] : std::vector<std::pair<std::string, std::string>>{
           {"0", "1777"}, {"12k", "1777"}, {"4096,exec", "1777"}, {"4096", "999"}}) {
    auto forged =
        node->attach(attachRequest("pvc-x", {{kSizeContextKey, size}, {kModeContextKey, mode}}));
    EXPECT_EQ(forged.status().code(), Code::kInvalidArgument) << size << " " << mode;
  }
  auto block = attachRequest("pvc-x", {{kSizeContextKey, "4096"}, {kModeContextKey, "1777"}});
  block.volumeMode = polycsi::VolumeMode::kBlock;
  EXPECT_EQ(node->attach(block).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace scratch::testing
