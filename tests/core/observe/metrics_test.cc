#include "observe/metrics.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace polycsi::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, FixedFamiliesAreExposedAfterUse) {
  Metrics metrics;
  metrics.recordOperation("ControllerPublishVolume", Code::kFailedPrecondition, "rds", 0.02);
  metrics.setAttachments("rds", kAttachmentStateAttached, 3);
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE polycsi_operations_total counter"));
  EXPECT_THAT(text,
              HasSubstr("polycsi_operations_total{backend=\"rds\",code=\"FAILED_PRECONDITION\","
                        "method=\"ControllerPublishVolume\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE polycsi_operation_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("polycsi_operation_duration_seconds_count{backend=\"rds\","
                              "method=\"ControllerPublishVolume\"} 1"));
  EXPECT_THAT(text, HasSubstr("polycsi_operation_duration_seconds_bucket{backend=\"rds\","
                              "method=\"ControllerPublishVolume\",le=\"0.025\"} 1"));
  EXPECT_THAT(text, HasSubstr("polycsi_operation_duration_seconds_bucket{backend=\"rds\","
                              "method=\"ControllerPublishVolume\",le=\"0.01\"} 0"));
  EXPECT_THAT(text, HasSubstr("polycsi_attachments{backend=\"rds\",state=\"attached\"} 3"));
}

TEST(MetricsTest, RegisterPrefixCreatesTheSeedFamiliesAtZero) {
  Metrics metrics;
  metrics.registerPrefix("rds_csi");
  metrics.registerPrefix("rds_csi");  // idempotent
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_migration_active_migrations gauge"));
  EXPECT_THAT(text, HasSubstr("\nrds_csi_migration_active_migrations 0\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_migration_migrations_total counter"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"success\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"timeout\"} 0"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migrations_total{result=\"failed\"} 0"));
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_migration_migration_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("rds_csi_migration_migration_duration_seconds_count 0"));
  EXPECT_THAT(text,
              HasSubstr("rds_csi_migration_migration_duration_seconds_bucket{le=\"3600\"} 0"));
}

TEST(MetricsTest, InvalidPrefixIsIgnored) {
  Metrics metrics;
  metrics.registerPrefix("bad-prefix");
  metrics.countMigration("bad-prefix", kMigrationResultSuccess);
  EXPECT_THAT(metrics.render(), Not(HasSubstr("bad-prefix")));
}

TEST(MetricsTest, UnknownMigrationResultIsRefused) {
  Metrics metrics;
  metrics.countMigration("nfs", "exploded");
  EXPECT_THAT(metrics.render(), Not(HasSubstr("exploded")));
}

TEST(MetricsTest, PluginGaugesAndCountersAreExposedWithTheirLabels) {
  Metrics metrics;
  metrics.gaugeSet("rds_csi_ssh_sessions", {{"host", "10.0.0.1"}}, 2);
  metrics.gaugeSet("rds_csi_ssh_sessions", {{"host", "10.0.0.1"}}, 5);
  metrics.counterAdd("rds_csi_commands_total", {{"command", "disk add"}}, 1);
  metrics.counterAdd("rds_csi_commands_total", {{"command", "disk add"}}, 2);
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_ssh_sessions gauge"));
  EXPECT_THAT(text, HasSubstr("rds_csi_ssh_sessions{host=\"10.0.0.1\"} 5"));
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_commands_total counter"));
  EXPECT_THAT(text, HasSubstr("rds_csi_commands_total{command=\"disk add\"} 3"));
}

TEST(MetricsTest, InvalidPluginMetricsAreDropped) {
  Metrics metrics;
  metrics.gaugeSet("rds-csi-bad name", {}, 1);
  metrics.gaugeSet("1starts_with_digit", {}, 1);
  metrics.gaugeSet("rds_csi_bad_label", {{"bad-label", "x"}}, 1);
  metrics.gaugeSet("rds_csi_reserved_label", {{"__name", "x"}}, 1);
  metrics.counterAdd("rds_csi_negative_total", {}, -1);
  metrics.gaugeSet("polycsi_attachments", {{"backend", "evil"}, {"state", "attached"}}, 99);
  metrics.gaugeSet("rds_csi_migration_active_migrations", {}, 42);
  const std::string text = metrics.render();
  EXPECT_THAT(text, Not(HasSubstr("bad name")));
  EXPECT_THAT(text, Not(HasSubstr("1starts_with_digit")));
  EXPECT_THAT(text, Not(HasSubstr("rds_csi_bad_label")));
  EXPECT_THAT(text, Not(HasSubstr("rds_csi_reserved_label")));
  EXPECT_THAT(text, Not(HasSubstr("rds_csi_negative_total")));
  EXPECT_THAT(text, Not(HasSubstr("evil")));
  EXPECT_THAT(text, Not(HasSubstr("42")));
}

TEST(MetricsTest, AMetricNameKeepsItsFirstType) {
  Metrics metrics;
  metrics.gaugeSet("rds_csi_things", {}, 7);
  metrics.counterAdd("rds_csi_things", {}, 1);  // dropped: already a gauge
  const std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE rds_csi_things gauge"));
  EXPECT_THAT(text, HasSubstr("\nrds_csi_things 7\n"));
}

}  // namespace
}  // namespace polycsi::observe
