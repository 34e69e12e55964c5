#include "attach/recorded_window.hpp"

#include <gtest/gtest.h>

namespace polycsi::attach {
namespace {

using namespace std::chrono_literals;

VolumeAttachmentState migrating(std::chrono::seconds window) {
  VolumeAttachmentState state;
  state.volumeId = "rds:vol-1";
  state.semantics = AttachSemantics::kMigrationWindow;
  state.nodes = {"node-a", "node-b"};
  state.migrationStartedAt = Clock::now();
  state.migrationTimeout = window;
  return state;
}

// Only the target of an open window gets the record: the source's publish context stays the
// plugin's, and so does every attachment outside a migration.
TEST(RecordedWindowTest, OnlyTheTargetOfAnOpenWindowCarriesItsLength) {
  const VolumeAttachmentState open = migrating(300s);
  EXPECT_EQ(recordedWindowFor(open, "node-b"), "300");
  EXPECT_EQ(recordedWindowFor(open, "node-a"), std::nullopt);
  VolumeAttachmentState single = open;
  single.nodes = {"node-b"};
  single.migrationStartedAt.reset();
  EXPECT_EQ(recordedWindowFor(single, "node-b"), std::nullopt);
}

TEST(RecordedWindowTest, ParsesWhatAPublishRecordedAndRefusesTheRest) {
  auto parsed = parseRecordedWindow({{kRecordedWindowKey, "1800"}, {"lun", "3"}});
  ASSERT_TRUE(parsed.isOk()) << parsed.status().toString();
  EXPECT_EQ(*parsed, std::optional<std::chrono::seconds>(1800s));
  EXPECT_EQ(*parseRecordedWindow(nullptr), std::nullopt);
  EXPECT_EQ(*parseRecordedWindow({{"lun", "3"}}), std::nullopt);
  for (const char* bad : {"", "0", "-5", "3601", "300s", "1e3"}) {
    auto refused = parseRecordedWindow({{kRecordedWindowKey, bad}});
    ASSERT_FALSE(refused.isOk()) << bad;
    EXPECT_EQ(refused.status().code(), Code::kInvalidArgument);
    EXPECT_NE(refused.status().message().find(kRecordedWindowKey), std::string::npos);
  }
}

}  // namespace
}  // namespace polycsi::attach
