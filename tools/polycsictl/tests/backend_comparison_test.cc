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
  EXPECT_EQ(rdsLine.substr(liveColumn, 4), "yes ") << text;
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

namespace polycsi::csictl {
namespace {

// The features of Kubernetes 1.34+ per backend: group snapshot consistency, what a
// VolumeAttributesClass may change, where volume health is reported. In the table, the JSON and
// the checkup; a driver that says nothing about them (an older one) shows none.
TEST(BackendComparison, ShowsGroupSnapshotsMutableParametersAndHealth) {
  Manifest m = threeStrategies();
  m["backend/rds-nvme/group_snapshot_consistency"] = "per-volume-sequence";
  m["backend/rds-nvme/mutable_parameters"] = "migrationTimeoutSeconds";
  m["backend/rds-nvme/volume_condition"] = "controller,node";
  m["backend/powerstore-iscsi/group_snapshot_consistency"] = "crash-consistent";
  m["backend/powerstore-iscsi/mutable_parameters"] = "performancePolicy,protectionPolicyID";
  m["backend/powerstore-iscsi/volume_condition"] = "controller";
  const auto checkup = parseCheckup("polycsi.csi.io", "1.0", m);
  const auto rows = compareBackends(checkup);
  ASSERT_EQ(rows.size(), 3u);  // nfs, powerstore-iscsi, rds-nvme
  EXPECT_EQ(rows[0].groupSnapshots, "none");
  EXPECT_TRUE(rows[0].mutableParameters.empty());
  EXPECT_FALSE(rows[0].controllerVolumeCondition);
  EXPECT_FALSE(rows[0].nodeVolumeCondition);
  EXPECT_EQ(rows[1].groupSnapshots, "crash-consistent");
  EXPECT_EQ(rows[1].mutableParameters,
            (std::vector<std::string>{"performancePolicy", "protectionPolicyID"}));
  EXPECT_TRUE(rows[1].controllerVolumeCondition);
  EXPECT_FALSE(rows[1].nodeVolumeCondition);
  EXPECT_EQ(rows[2].groupSnapshots, "per volume in sequence");
  EXPECT_EQ(rows[2].mutableParameters, std::vector<std::string>{"migrationTimeoutSeconds"});
  EXPECT_TRUE(rows[2].controllerVolumeCondition);
  EXPECT_TRUE(rows[2].nodeVolumeCondition);

  // Each new column lines up in the header and the rows.
  const std::string text = formatComparison(checkup);
  const auto header = text.find("BACKEND");
  ASSERT_NE(header, std::string::npos) << text;
  const auto headerLineStart = text.rfind('\n', header) + 1;
  auto column = [&](const std::string& name) { return text.find(name, header) - headerLineStart; };
  const auto rowOf = [&](const std::string& backend) {
    const auto start = text.find("\n" + backend + " ") + 1;
    return text.substr(start, text.find('\n', start) - start);
  };
  EXPECT_EQ(rowOf("rds-nvme").substr(column("GROUP SNAPSHOT"), 22), "per volume in sequence")
      << text;
  EXPECT_EQ(rowOf("powerstore-iscsi").substr(column("VAC MUTABLE"), 37),
            "performancePolicy, protectionPolicyID")
      << text;
  EXPECT_EQ(rowOf("rds-nvme").substr(column("HEALTH"), 16), "controller, node") << text;
  EXPECT_EQ(rowOf("nfs").substr(column("GROUP SNAPSHOT"), 5), "none ") << text;
  EXPECT_EQ(rowOf("nfs").substr(column("VAC MUTABLE"), 2), "- ") << text;
  EXPECT_EQ(rowOf("nfs").substr(column("HEALTH")), "-") << text;

  const auto json = comparisonJson(checkup);
  EXPECT_EQ(json["backends"][1]["groupSnapshots"], "crash-consistent");
  EXPECT_EQ(json["backends"][1]["mutableParameters"],
            nlohmann::ordered_json::array({"performancePolicy", "protectionPolicyID"}));
  EXPECT_EQ(json["backends"][1]["volumeCondition"],
            (nlohmann::ordered_json{{"controller", true}, {"node", false}}));
  EXPECT_EQ(json["backends"][0]["mutableParameters"], nlohmann::ordered_json::array());

  const auto report = checkupJson(checkup, "10Gi");
  EXPECT_EQ(report["backends"][2]["groupSnapshots"], "per volume in sequence");
  EXPECT_EQ(report["backends"][2]["volumeCondition"]["node"], true);
  const std::string detail = formatBackendCheckup(checkup, checkup.backends[1], "10Gi");
  EXPECT_NE(detail.find("  group snapshots: crash-consistent\n"), std::string::npos) << detail;
  EXPECT_NE(detail.find("  VolumeAttributesClass may change: performancePolicy, "
                        "protectionPolicyID\n"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("  volume health reported by: controller\n"), std::string::npos) << detail;

  m["backend/rds-nvme/volume_condition"] = "controller,kubelet";
  EXPECT_THROW(parseCheckup("polycsi.csi.io", "1.0", m), std::runtime_error);
  m["backend/rds-nvme/volume_condition"] = "controller";
  m["backend/rds-nvme/mutable_parameters"] = "a,,b";
  EXPECT_THROW(parseCheckup("polycsi.csi.io", "1.0", m), std::runtime_error);
}

}  // namespace
}  // namespace polycsi::csictl
