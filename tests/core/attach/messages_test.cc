#include "attach/messages.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace polycsi::attach {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(FormatDurationTest, WholeSecondsMatchGo) {
  EXPECT_EQ(formatDuration(seconds(0)), "0s");
  EXPECT_EQ(formatDuration(seconds(1)), "1s");
  EXPECT_EQ(formatDuration(seconds(45)), "45s");
  EXPECT_EQ(formatDuration(seconds(59)), "59s");
  EXPECT_EQ(formatDuration(seconds(60)), "1m0s");
  EXPECT_EQ(formatDuration(minutes(5)), "5m0s");
  EXPECT_EQ(formatDuration(minutes(5) + seconds(2)), "5m2s");
  EXPECT_EQ(formatDuration(hours(1)), "1h0m0s");
  EXPECT_EQ(formatDuration(hours(1) + minutes(1) + seconds(1)), "1h1m1s");
  EXPECT_EQ(formatDuration(seconds(3600 * 30 + 7)), "30h0m7s");
}

TEST(FormatDurationTest, FractionsMatchGo) {
  EXPECT_EQ(formatDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatDuration(minutes(1) + milliseconds(250)), "1m0.25s");
  EXPECT_EQ(formatDuration(nanoseconds(1'000'000'001)), "1.000000001s");
  EXPECT_EQ(formatDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(formatDuration(microseconds(1200)), "1.2ms");
  EXPECT_EQ(formatDuration(milliseconds(999)), "999ms");
  EXPECT_EQ(formatDuration(microseconds(3)), "3\xC2\xB5s");
  EXPECT_EQ(formatDuration(nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(formatDuration(nanoseconds(7)), "7ns");
}

TEST(FormatDurationTest, NegativeAndExtremesMatchGo) {
  EXPECT_EQ(formatDuration(seconds(-2)), "-2s");
  EXPECT_EQ(formatDuration(milliseconds(-1500)), "-1.5s");
  EXPECT_EQ(formatDuration(nanoseconds(-1)), "-1ns");
  // Go: time.Duration(math.MinInt64).String() and MaxInt64.
  EXPECT_EQ(formatDuration(nanoseconds(std::numeric_limits<int64_t>::min())),
            "-2562047h47m16.854775808s");
  EXPECT_EQ(formatDuration(nanoseconds(std::numeric_limits<int64_t>::max())),
            "2562047h47m16.854775807s");
}

TEST(FormatDurationTest, WholeSecondsTruncates) {
  EXPECT_EQ(formatWholeSeconds(milliseconds(302'999)), "5m2s");
  EXPECT_EQ(formatWholeSeconds(milliseconds(999)), "0s");
  EXPECT_EQ(formatWholeSeconds(milliseconds(45'500)), "45s");
}

TEST(MessagesTest, MigrationLimitIsTheSeedText) {
  EXPECT_EQ(migrationLimitMessage("pvc-xyz123", {"node1", "node2"}),
            "Volume pvc-xyz123 already attached to 2 nodes (migration limit). "
            "Attached nodes: [node1, node2]");
}

TEST(MessagesTest, MigrationTimeoutIsTheSeedText) {
  EXPECT_EQ(migrationTimeoutMessage("pvc-xyz123", milliseconds(302'700), seconds(300)),
            "Volume pvc-xyz123 migration timeout exceeded (5m2s elapsed, 5m0s max). Previous "
            "migration may be stuck. Detach source node to reset, or adjust "
            "migrationTimeoutSeconds in StorageClass.");
}

TEST(MessagesTest, ExclusiveConflictNamesTheNode) {
  EXPECT_EQ(exclusiveConflictMessage("rds:pvc-1", "node1"),
            "Volume rds:pvc-1 is already attached to node node1; access mode allows a single "
            "node");
}

TEST(MessagesTest, SemanticsMismatchNamesBoth) {
  EXPECT_EQ(
      semanticsMismatchMessage("v", {"a"}, AttachSemantics::kShared, AttachSemantics::kExclusive),
      "Volume v is attached to nodes [a] with shared attachment semantics; a publish with "
      "exclusive semantics cannot join them (was the access mode of the volume changed?)");
}

TEST(MessagesTest, NodeListFormats) {
  EXPECT_EQ(formatNodeList({}), "[]");
  EXPECT_EQ(formatNodeList({"a"}), "[a]");
  EXPECT_EQ(formatNodeList({"a", "b", "c"}), "[a, b, c]");
}

TEST(MessagesTest, EventMessagesAreTheSeedText) {
  EXPECT_EQ(migrationStartedEventMessage("pvc-a1b2c3d4", "node1", "node2", seconds(300)),
            "[pvc-a1b2c3d4]: KubeVirt live migration started - source: node1, target: node2, "
            "timeout: 5m0s");
  EXPECT_EQ(migrationCompletedEventMessage("pvc-a1b2c3d4", "node1", "node2", milliseconds(45'321)),
            "[pvc-a1b2c3d4]: KubeVirt live migration completed - source: node1 \xE2\x86\x92 "
            "target: node2 (duration: 45s)");
  EXPECT_EQ(
      migrationFailedEventMessage("pvc-xyz123", "node1", "node2", "timeout", milliseconds(300'400)),
      "[pvc-xyz123]: KubeVirt live migration failed - source: node1, attempted target: "
      "node2, reason: timeout, elapsed: 5m0s");
}

}  // namespace
}  // namespace polycsi::attach
