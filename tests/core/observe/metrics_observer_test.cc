#include "observe/metrics_observer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace polycsi::observe {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

attach::VolumeAttachmentState attachedTo(const std::string& volumeId,
                                         std::vector<std::string> nodes, bool migrating) {
  attach::VolumeAttachmentState state;
  state.volumeId = volumeId;
  state.backend = "rds";
  state.metricsPrefix = "rds_csi";
  state.semantics = AttachSemantics::kMigrationWindow;
  state.nodes = std::move(nodes);
  if (migrating) state.migrationStartedAt = attach::Clock::now();
  return state;
}

// Reports a migration start the way the attachment manager does: the new state, then the event.
void startMigration(MigrationMetrics& observer, const std::string& volumeId) {
  auto state = attachedTo(volumeId, {"node1", "node2"}, true);
  observer.attachmentsChanged(state);
  observer.migrationStarted(state, "node1", "node2");
}

TEST(MigrationMetricsTest, ActiveGaugeCountsVolumesInAMigrationWindow) {
  Metrics metrics;
  MigrationMetrics observer(metrics);
  startMigration(observer, "pvc-a");
  startMigration(observer, "pvc-b");
  observer.migrationStarted(attachedTo("pvc-b", {"node1", "node2"}, true), "node1", "node2");
  EXPECT_THAT(metrics.render(), HasSubstr("\nrds_csi_migration_active_migrations 2\n"));
  EXPECT_THAT(metrics.render(),
              HasSubstr("polycsi_attachments{backend=\"rds\",state=\"migrating\"} 2"));

  auto done = attachedTo("pvc-a", {"node2"}, false);
  observer.attachmentsChanged(done);
  observer.migrationCompleted(done, "node1", "node2", 45s);
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("\nrds_csi_migration_active_migrations 1\n"));
  EXPECT_THAT(text, HasSubstr("polycsi_attachments{backend=\"rds\",state=\"migrating\"} 1"));
  EXPECT_THAT(text, HasSubstr("polycsi_attachments{backend=\"rds\",state=\"attached\"} 1"));
}

TEST(MigrationMetricsTest, CompletionCountsSuccessAndObservesTheDuration) {
  Metrics metrics;
  MigrationMetrics observer(metrics);
  startMigration(observer, "pvc-a");
  observer.migrationCompleted(attachedTo("pvc-a", {"node2"}, false), "node1", "node2", 45s);
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"success\"} 1"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"timeout\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"failed\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_count 1"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_sum 45"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_bucket{le=\"30\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_bucket{le=\"45\"} 1"));
  EXPECT_THAT(text, HasSubstr("\nrds_csi_migration_active_migrations 0\n"));
}

TEST(MigrationMetricsTest, FailuresAreCountedByReason) {
  Metrics metrics;
  MigrationMetrics observer(metrics);
  startMigration(observer, "pvc-a");
  startMigration(observer, "pvc-b");

  // Timed out: still attached to both nodes, so still active.
  observer.migrationFailed(attachedTo("pvc-a", {"node1", "node2"}, true), "node1", "node2",
                           "timeout", 300s);
  // Target detached: rolled back to the source.
  auto rolledBack = attachedTo("pvc-b", {"node1"}, false);
  observer.attachmentsChanged(rolledBack);
  observer.migrationFailed(rolledBack, "node1", "node2", "target detached", 20s);

  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"timeout\"} 1"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"failed\"} 1"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"success\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_count 0"));
  EXPECT_THAT(text, HasSubstr("\nrds_csi_migration_active_migrations 1\n"));
}

TEST(MigrationMetricsTest, DetachedVolumesLeaveTheAttachmentsGaugeAtZero) {
  Metrics metrics;
  MigrationMetrics observer(metrics);
  observer.attachmentsChanged(attachedTo("pvc-a", {"node1"}, false));
  EXPECT_THAT(metrics.render(),
              HasSubstr("polycsi_attachments{backend=\"rds\",state=\"attached\"} 1"));
  observer.attachmentsChanged(attachedTo("pvc-a", {}, false));
  EXPECT_THAT(metrics.render(),
              HasSubstr("polycsi_attachments{backend=\"rds\",state=\"attached\"} 0"));
}

TEST(MigrationMetricsTest, StateWithoutPrefixOnlyCountsAttachments) {
  Metrics metrics;
  MigrationMetrics observer(metrics);
  auto state = attachedTo("vol-1", {"node1", "node2"}, true);
  state.metricsPrefix.clear();
  state.backend = "nfs";
  observer.attachmentsChanged(state);
  observer.migrationStarted(state, "node1", "node2");
  observer.migrationCompleted(state, "node1", "node2", 1s);
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("polycsi_attachments{backend=\"nfs\",state=\"migrating\"} 1"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("_migration_migrations_total")));
}

}  // namespace
}  // namespace polycsi::observe
