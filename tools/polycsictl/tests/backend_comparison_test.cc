#include "backend_comparison.hpp"

#include <gtest/gtest.h>

#include <string>

#include "storage_class_checkup.hpp"

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

namespace polycsi::csictl {
namespace {

// Backends reachable only from some nodes carry their segment: a TOPOLOGY column, then (and
// only then) in the table, and always in the JSON and the checkup.
TEST(BackendComparison, ShowsTheTopologyOfBackendsThatDeclareOne) {
  Manifest m = threeStrategies();
  const std::string plain = formatComparison(parseCheckup("polycsi.csi.io", "1.0", m));
  EXPECT_EQ(plain.find("TOPOLOGY"), std::string::npos) << plain;

  m["backend/rds-nvme/topology"] = "topology.polycsi.io/rack=r1,zone=z1";
  const auto checkup = parseCheckup("polycsi.csi.io", "1.0", m);
  const auto rows = compareBackends(checkup);
  EXPECT_EQ(rows[2].topology, "topology.polycsi.io/rack=r1,zone=z1");
  EXPECT_EQ(rows[0].topology, "any node");
  const std::string text = formatComparison(checkup);
  const auto header = text.find("BACKEND");
  ASSERT_NE(header, std::string::npos) << text;
  const auto headerLineStart = text.rfind('\n', header) + 1;
  const auto topologyColumn = text.find("TOPOLOGY", header) - headerLineStart;
  const auto rdsRow = text.find("\nrds-nvme") + 1;
  EXPECT_EQ(text.find("topology.polycsi.io/rack=r1,zone=z1", rdsRow) - rdsRow, topologyColumn)
      << text;
  EXPECT_EQ(comparisonJson(checkup)["backends"][2]["topology"],
            "topology.polycsi.io/rack=r1,zone=z1");

  const auto& rds = checkup.backends[2];
  const std::string detail = formatBackendCheckup(checkup, rds, "10Gi");
  EXPECT_NE(detail.find("  topology: topology.polycsi.io/rack=r1,zone=z1 (only nodes in this "
                        "segment reach it)"),
            std::string::npos)
      << detail;
  EXPECT_EQ(checkupJson(checkup, "10Gi")["backends"][2]["topology"]["zone"], "z1");

  m["backend/rds-nvme/topology"] = "rack";
  EXPECT_THROW(parseCheckup("polycsi.csi.io", "1.0", m), std::runtime_error);
}

}  // namespace
}  // namespace polycsi::csictl

namespace polycsi::csictl {
namespace {

// A class over several backends (parameters.backends) is judged with their shared matrix and
// named after all of them; a name the driver lacks is the class's problem.
TEST(StorageClassCheckup, AClassSpanningBackendsIsJudgedWithTheirPlugin) {
  Manifest m = threeStrategies();
  m["backend/rds-nvme-b"] = "rds_nvme 0.1.0";
  m["backend/rds-nvme-b/capabilities"] = m["backend/rds-nvme/capabilities"];
  m["backend/rds-nvme-b/topology"] = "topology.polycsi.io/rack=r2";
  const auto driver = parseCheckup("polycsi.csi.io", "1.0", m);
  auto sc = [](const std::string& name, const std::string& backends) {
    return nlohmann::json{{"metadata", {{"name", name}}},
                          {"provisioner", "polycsi.csi.io"},
                          {"parameters", {{"backends", backends}}}};
  };
  const auto classes =
      checkStorageClasses(driver, {sc("spread", "rds-nvme, rds-nvme-b"),
                                   sc("typo", "rds-nvme,rds-nvme-c"), sc("mixed", "rds-nvme,nfs")});
  ASSERT_EQ(classes.size(), 3u);  // by class name: mixed, spread, typo
  EXPECT_EQ(classes[1].name, "rds-nvme,rds-nvme-b");
  EXPECT_EQ(classes[1].problem, "");
  EXPECT_TRUE(classes[1].liveMigration.supported) << classes[1].liveMigration.detail;
  EXPECT_TRUE(classes[1].topology.empty()) << "one volume lands on one of them";
  EXPECT_NE(classes[2].problem.find("parameters.backends names 'rds-nvme-c'"), std::string::npos)
      << classes[2].problem;
  EXPECT_NE(classes[0].problem.find("mixes plugins rds_nvme and nfs"), std::string::npos)
      << classes[0].problem;
}

}  // namespace
}  // namespace polycsi::csictl
