#include "backend_comparison.hpp"

#include <gtest/gtest.h>

#include <string>

namespace polycsi::csictl {
namespace {

using Manifest = google::protobuf::Map<std::string, std::string>;

// The three strategies of the in-tree plugins, as their drivers describe them.
Manifest threeStrategies() {
  Manifest m;
  m["backend/rds-nvme"] = "rds_nvme 0.1.0";
  m["backend/rds-nvme/default"] = "true";
  m["backend/rds-nvme/capabilities"] =
      "SINGLE_NODE_WRITER/block=exclusive,SINGLE_NODE_WRITER/filesystem=exclusive,"
      "MULTI_NODE_MULTI_WRITER/block=migration_window,"
      "MULTI_NODE_MULTI_WRITER/filesystem=unsupported";
  m["backend/rds-nvme/reason/MULTI_NODE_MULTI_WRITER/filesystem"] =
      "a filesystem on two nodes corrupts";
  m["backend/powerstore-iscsi"] = "iscsi_powerstore 0.1.0";
  m["backend/powerstore-iscsi/capabilities"] =
      "SINGLE_NODE_WRITER/block=exclusive,SINGLE_NODE_WRITER/filesystem=exclusive,"
      "MULTI_NODE_MULTI_WRITER/block=unsupported,MULTI_NODE_MULTI_WRITER/filesystem=unsupported";
  m["backend/powerstore-iscsi/reason/MULTI_NODE_MULTI_WRITER/block"] = "one host per volume";
  m["backend/nfs"] = "nfs 0.1.0";
  m["backend/nfs/capabilities"] =
      "SINGLE_NODE_WRITER/filesystem=exclusive,MULTI_NODE_MULTI_WRITER/filesystem=shared,"
      "MULTI_NODE_MULTI_WRITER/block=unsupported";
  m["migration/timeout_seconds"] = "300 30 3600";
  return m;
}

TEST(BackendComparison, OneRowPerStrategyWithItsVerdict) {
  const auto rows = compareBackends(parseCheckup("polycsi.csi.io", "1.0", threeStrategies()));
  ASSERT_EQ(rows.size(), 3u);  // by name: nfs, powerstore-iscsi, rds-nvme

  const auto& nfs = rows[0];
  EXPECT_EQ(nfs.backend, "nfs");
  EXPECT_EQ(nfs.readWriteOnce, "Filesystem");
  EXPECT_EQ(nfs.readWriteMany, "Filesystem (shared)");
  EXPECT_EQ(nfs.vmDisk, "RWX Filesystem");
  EXPECT_EQ(nfs.secondNode, "allowed");
  EXPECT_TRUE(nfs.liveMigration);

  const auto& iscsi = rows[1];
  EXPECT_EQ(iscsi.plugin, "iscsi_powerstore");
  EXPECT_EQ(iscsi.storageClass, "polycsi-powerstore-iscsi");
  EXPECT_EQ(iscsi.readWriteOnce, "Block, Filesystem");
  EXPECT_EQ(iscsi.readWriteMany, "-");
  EXPECT_EQ(iscsi.vmDisk, "RWO Block");
  EXPECT_EQ(iscsi.secondNode, "refused");
  EXPECT_FALSE(iscsi.liveMigration);
  EXPECT_NE(iscsi.why.find("one host per volume"), std::string::npos) << iscsi.why;

  const auto& rds = rows[2];
  EXPECT_EQ(rds.readWriteMany, "Block (migration window)");
  EXPECT_EQ(rds.vmDisk, "RWX Block");
  EXPECT_EQ(rds.secondNode, "during migration window");
  EXPECT_TRUE(rds.liveMigration);
}

TEST(BackendComparison, BackendWithoutAnyUsableModeShowsDashes) {
  Manifest m;
  m["backend/ro"] = "readonly 1.0";
  m["backend/ro/capabilities"] = "MULTI_NODE_READER_ONLY/filesystem=shared";
  const auto rows = compareBackends(parseCheckup("d", "1", m));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].readWriteOnce, "-");
  EXPECT_EQ(rows[0].readWriteMany, "-");
  EXPECT_EQ(rows[0].vmDisk, "-");
  EXPECT_EQ(rows[0].secondNode, "-");
  EXPECT_FALSE(rows[0].liveMigration);
}

TEST(BackendComparison, TableHasAlignedRowsAndAWhyLinePerBackend) {
  const std::string text =
      formatComparison(parseCheckup("polycsi.csi.io", "1.0", threeStrategies()));
  EXPECT_NE(text.find("driver polycsi.csi.io 1.0"), std::string::npos) << text;
  const auto header = text.find("BACKEND");
  const auto rdsRow = text.find("\nrds-nvme ");
  ASSERT_NE(header, std::string::npos) << text;
  ASSERT_NE(rdsRow, std::string::npos) << text;
  // Columns line up: LIVE MIGRATION starts at the same offset in the header and in a row.
  const auto headerLineStart = text.rfind('\n', header) + 1;
  const auto liveColumn = text.find("LIVE MIGRATION", header) - headerLineStart;
  const auto rdsLineEnd = text.find('\n', rdsRow + 1);
  const std::string rdsLine = text.substr(rdsRow + 1, rdsLineEnd - rdsRow - 1);
  ASSERT_GT(rdsLine.size(), liveColumn) << text;
  EXPECT_EQ(rdsLine.substr(liveColumn), "yes") << text;
  EXPECT_NE(text.find("why:\n  nfs (StorageClass polycsi-nfs): RWX Filesystem, shared by any "
                      "number of nodes\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  powerstore-iscsi (StorageClass polycsi-powerstore-iscsi): KubeVirt live "
                      "migration needs ReadWriteMany"),
            std::string::npos)
      << text;
}

TEST(BackendComparison, JsonCarriesEveryColumn) {
  const auto json = comparisonJson(parseCheckup("polycsi.csi.io", "1.0", threeStrategies()));
  EXPECT_EQ(json["driver"], "polycsi.csi.io");
  ASSERT_EQ(json["backends"].size(), 3u);
  const auto& iscsi = json["backends"][1];
  EXPECT_EQ(iscsi["backend"], "powerstore-iscsi");
  EXPECT_EQ(iscsi["secondNode"], "refused");
  EXPECT_EQ(iscsi["liveMigration"], false);
  EXPECT_EQ(json["backends"][2]["vmDisk"], "RWX Block");
}

}  // namespace
}  // namespace polycsi::csictl
