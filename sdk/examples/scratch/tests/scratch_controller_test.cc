// The scratch plugin's descriptor and controller side, through the FakeHost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scratch_backend.hpp"
#include "scratch_test_env.hpp"

namespace scratch::testing {
namespace {

using polycsi::AccessMode;
using polycsi::AttachSemantics;
using polycsi::Code;
using polycsi::VolumeMode;
using polycsi::testing::FakeHost;
using ::testing::HasSubstr;

constexpr int64_t kMiB = 1024 * 1024;

TEST(ScratchDescriptorTest, PassesTheHostChecksAndDeclaresItsMatrix) {
  EXPECT_EQ(polycsi::checkPluginTable(polycsi_plugin_entry(), "scratch"), "");
  const polycsi::Descriptor d = FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.name, "scratch");
  EXPECT_EQ(d.semanticsFor(AccessMode::kSingleNodeWriter, VolumeMode::kFilesystem),
            AttachSemantics::kExclusive);
  EXPECT_EQ(d.semanticsFor(AccessMode::kSingleNodeSingleWriter, VolumeMode::kFilesystem),
            AttachSemantics::kExclusive);
  EXPECT_EQ(d.semanticsFor(AccessMode::kSingleNodeWriter, VolumeMode::kBlock),
            AttachSemantics::kUnsupported);
  EXPECT_THAT(d.unsupportedReason(AccessMode::kSingleNodeWriter, VolumeMode::kBlock),
              HasSubstr("no block device"));
  EXPECT_THAT(d.unsupportedReason(AccessMode::kMultiNodeMultiWriter, VolumeMode::kFilesystem),
              HasSubstr("one node's memory"));
  const polycsi::PluginFeatures f = polycsi::PluginFeatures::of(polycsi_plugin_entry());
  EXPECT_TRUE(f.listVolumes);
  EXPECT_TRUE(f.getCapacity);
  EXPECT_FALSE(f.snapshots);
  EXPECT_FALSE(f.fencing);
}

TEST_F(ScratchTest, CreateIsIdempotentAndRoundsUpToWholePages) {
  auto backend = start();
  ASSERT_TRUE(backend);
  auto first = backend->createVolume(create("pvc-a", 10 * kMiB + 1));
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  EXPECT_EQ(first->id, "pvc-a");
  EXPECT_EQ(first->capacityBytes, 10 * kMiB + kPageBytes);
  EXPECT_EQ(first->context.at(kSizeContextKey), std::to_string(10 * kMiB + kPageBytes));
  EXPECT_EQ(first->context.at(kModeContextKey), "1777");

  auto again = backend->createVolume(create("pvc-a", 10 * kMiB + 1));
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(again->capacityBytes, first->capacityBytes);

  auto bigger = backend->createVolume(create("pvc-a", 20 * kMiB));
  EXPECT_EQ(bigger.status().code(), Code::kAlreadyExists);
  auto otherMode = backend->createVolume(create("pvc-a", kMiB, {{"mode", "0700"}}));
  EXPECT_EQ(otherMode.status().code(), Code::kAlreadyExists);

  auto defaulted = backend->createVolume(create("pvc-default", 0));
  ASSERT_TRUE(defaulted.isOk());
  EXPECT_EQ(defaulted->capacityBytes, kDefaultVolumeBytes);
}

TEST_F(ScratchTest, RefusesBadNamesParametersAndLimits) {
  auto backend = start();
  ASSERT_TRUE(backend);
  EXPECT_EQ(backend->createVolume(create("../etc", kMiB)).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(backend->createVolume(create(std::string(57, 'a'), kMiB)).status().code(),
            Code::kInvalidArgument);
  auto badMode = backend->createVolume(create("pvc-m", kMiB, {{"mode", "rwx"}}));
  EXPECT_EQ(badMode.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(badMode.status().message(), HasSubstr("mode=\"rwx\""));
  auto request = create("pvc-l", kMiB + 1);
  request.limitBytes = kMiB + 2;
  auto overLimit = backend->createVolume(request);
  EXPECT_EQ(overLimit.status().code(), Code::kOutOfRange);
}

TEST_F(ScratchTest, KeepsWithinTheBudgetAndReportsCapacity) {
  auto backend = start({{"max_total_bytes", std::to_string(10 * kMiB)}});
  ASSERT_TRUE(backend);
  ASSERT_TRUE(backend->createVolume(create("pvc-1", 6 * kMiB)).isOk());
  auto capacity = backend->getCapacity({});
  ASSERT_TRUE(capacity.isOk());
  EXPECT_EQ(capacity->availableBytes, 4 * kMiB);
  EXPECT_EQ(capacity->maximumVolumeBytes, 10 * kMiB);

  auto refused = backend->createVolume(create("pvc-2", 6 * kMiB));
  EXPECT_EQ(refused.status().code(), Code::kResourceExhausted);
  EXPECT_THAT(refused.status().message(), HasSubstr("only 4194304 of max_total_bytes=10485760"));

  ASSERT_TRUE(backend->deleteVolume({.volumeId = "pvc-1"}).isOk());
  EXPECT_TRUE(backend->createVolume(create("pvc-2", 6 * kMiB)).isOk());
  EXPECT_EQ(host_.gauge(FakeHost::metricKey("volumes", {})), 1);
  EXPECT_EQ(host_.gauge(FakeHost::metricKey("allocated_bytes", {})), 6 * kMiB);
  EXPECT_TRUE(host_.logged("deleted scratch volume pvc-1"));
}

TEST_F(ScratchTest, RefusesABadBudgetSetting) {
  for (const char* bad : {"0", "-5", "lots", "12 "}) {
    auto instance = host_.start(polycsi_plugin_entry(),
                                polycsi::InstanceConfig{.instanceName = "bad",
                                                        .settings = {{"max_total_bytes", bad}},
                                                        .stateDir = state_.path()});
    ASSERT_FALSE(instance.isOk()) << bad;
    EXPECT_EQ(instance.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_THAT(instance.status().message(), HasSubstr("max_total_bytes")) << bad;
  }
}

TEST_F(ScratchTest, GetAndDeleteFollowTheRecordsAcrossRestarts) {
  {
    auto backend = start();
    ASSERT_TRUE(backend);
    ASSERT_TRUE(backend->createVolume(create("pvc-kept", 2 * kMiB, {{"mode", "0750"}})).isOk());
  }
  auto restarted = start();
  ASSERT_TRUE(restarted);
  auto found = restarted->getVolume({.volumeId = "pvc-kept"});
  ASSERT_TRUE(found.isOk()) << found.status().toString();
  EXPECT_EQ(found->capacityBytes, 2 * kMiB);
  EXPECT_EQ(found->context.at(kModeContextKey), "0750");

  EXPECT_TRUE(restarted->deleteVolume({.volumeId = "pvc-kept"}).isOk());
  EXPECT_TRUE(restarted->deleteVolume({.volumeId = "pvc-kept"}).isOk());
  EXPECT_TRUE(restarted->deleteVolume({.volumeId = "../never"}).isOk());
  EXPECT_EQ(restarted->getVolume({.volumeId = "pvc-kept"}).status().code(), Code::kNotFound);
  EXPECT_EQ(restarted->getVolume({.volumeId = "../x"}).status().code(), Code::kNotFound);
}

TEST_F(ScratchTest, ListsInPagesAndRefusesForeignTokens) {
  auto backend = start();
  ASSERT_TRUE(backend);
  for (const char* name : {"pvc-c", "pvc-a", "pvc-e", "pvc-b", "pvc-d"})
    ASSERT_TRUE(backend->createVolume(create(name, kMiB)).isOk());
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = backend->listVolumes({.maxEntries = 2, .startingToken = token});
    ASSERT_TRUE(page.isOk()) << page.status().toString();
    EXPECT_LE(page->volumes.size(), 2u);
    for (const auto& v : page->volumes) seen.push_back(v.id);
    token = page->nextToken;
    ASSERT_LT(++pages, 5);
  } while (!token.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"pvc-a", "pvc-b", "pvc-c", "pvc-d", "pvc-e"}));
  EXPECT_EQ(pages, 3);

  EXPECT_EQ(backend->listVolumes({.startingToken = "not a token"}).status().code(), Code::kAborted);
}

}  // namespace
}  // namespace scratch::testing
