#include "backend_checkup.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

using Manifest = google::protobuf::Map<std::string, std::string>;

// An rds_nvme-like backend: RWX only for raw block, with a migration window.
Manifest blockOnlyManifest() {
  Manifest m;
  m["backend/rds"] = "rds_nvme 0.1.0";
  m["backend/rds/default"] = "true";
  m["backend/rds/capabilities"] =
      "SINGLE_NODE_WRITER/block=exclusive,SINGLE_NODE_WRITER/filesystem=exclusive,"
      "MULTI_NODE_MULTI_WRITER/block=migration_window,"
      "MULTI_NODE_MULTI_WRITER/filesystem=unsupported";
  m["backend/rds/reason/MULTI_NODE_MULTI_WRITER/filesystem"] = "ext4 on two nodes corrupts";
  m["migration/timeout_seconds"] = "300 30 3600";
  return m;
}

TEST(BackendCheckup, RwxBlockWithAWindowMigratesInBlockMode) {
  const auto checkup = parseCheckup("polycsi.csi.io", "1.0", blockOnlyManifest());
  ASSERT_EQ(checkup.backends.size(), 1u);
  const auto& rds = checkup.backends[0];
  EXPECT_EQ(rds.plugin, "rds_nvme");
  EXPECT_EQ(rds.pluginVersion, "0.1.0");
  EXPECT_TRUE(rds.isDefault);
  EXPECT_EQ(rds.storageClass, "polycsi-rds");
  EXPECT_TRUE(rds.liveMigration.supported);
  EXPECT_EQ(rds.liveMigration.volumeMode, "Block");
  EXPECT_NE(rds.liveMigration.detail.find("bounded window 300s default"), std::string::npos);
  EXPECT_NE(rds.liveMigration.detail.find("30-3600s"), std::string::npos);

  const auto pvc = pvcFor(rds, "10Gi");
  EXPECT_EQ(pvc["spec"]["accessModes"][0], "ReadWriteMany");
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Block");
  EXPECT_EQ(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");

  const auto sets = storageProfileFor(rds)["spec"]["claimPropertySets"];
  ASSERT_EQ(sets.size(), 3u);  // RWX Block, RWO Block, RWO Filesystem; never RWX Filesystem
  EXPECT_EQ(sets[0]["accessModes"][0], "ReadWriteMany");
  EXPECT_EQ(sets[0]["volumeMode"], "Block");
  EXPECT_EQ(sets[1]["accessModes"][0], "ReadWriteOnce");
  EXPECT_EQ(sets[1]["volumeMode"], "Block");
  EXPECT_EQ(sets[2]["volumeMode"], "Filesystem");
}

TEST(BackendCheckup, SharedFilesystemMigratesInFilesystemMode) {
  Manifest m;
  m["backend/nfs"] = "nfs 0.1.0";
  m["backend/nfs/capabilities"] =
      "SINGLE_NODE_WRITER/filesystem=exclusive,MULTI_NODE_MULTI_WRITER/filesystem=shared";
  const auto checkup = parseCheckup("polycsi.csi.io", "1.0", m);
  const auto& nfs = checkup.backends.at(0);
  EXPECT_TRUE(nfs.liveMigration.supported);
  EXPECT_EQ(nfs.liveMigration.volumeMode, "Filesystem");
  EXPECT_EQ(pvcFor(nfs, "1Gi")["spec"]["volumeMode"], "Filesystem");
  EXPECT_FALSE(nfs.isDefault);
}

TEST(BackendCheckup, NoRwxMeansNoMigrationWithThePluginsReason) {
  Manifest m;
  m["backend/ps"] = "iscsi_powerstore 0.1.0";
  m["backend/ps/capabilities"] =
      "SINGLE_NODE_WRITER/block=exclusive,MULTI_NODE_MULTI_WRITER/block=unsupported";
  m["backend/ps/reason/MULTI_NODE_MULTI_WRITER/block"] = "no fencing";
  const auto checkup = parseCheckup("d", "1", m);
  const auto& ps = checkup.backends.at(0);
  EXPECT_FALSE(ps.liveMigration.supported);
  EXPECT_NE(ps.liveMigration.detail.find("block: no fencing"), std::string::npos);
  EXPECT_NE(ps.liveMigration.detail.find("filesystem: not declared by plugin iscsi_powerstore"),
            std::string::npos);
  const auto pvc = pvcFor(ps, "1Gi");
  EXPECT_EQ(pvc["spec"]["accessModes"][0], "ReadWriteOnce");
  EXPECT_EQ(pvc["spec"]["volumeMode"], "Block");
  const std::string text = formatBackendCheckup(checkup, ps, "1Gi");
  EXPECT_NE(text.find("live migration: no: "), std::string::npos) << text;
}

TEST(BackendCheckup, ManifestWithoutMatricesIsNotPolycsi) {
  Manifest m;
  m["build"] = "test";
  try {
    parseCheckup("fake.csi", "1", m);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "driver fake.csi does not describe its backends; is it polycsi?");
  }
}

TEST(BackendCheckup, MalformedEntriesNameTheKey) {
  Manifest m = blockOnlyManifest();
  m["backend/rds/capabilities"] = "SINGLE_NODE_WRITER-block";
  EXPECT_THROW(
      {
        try {
          parseCheckup("d", "1", m);
        } catch (const std::runtime_error& e) {
          EXPECT_NE(std::string(e.what()).find("backend/rds/capabilities"), std::string::npos);
          throw;
        }
      },
      std::runtime_error);
  m = blockOnlyManifest();
  m["migration/timeout_seconds"] = "300 x";
  EXPECT_THROW(parseCheckup("d", "1", m), std::runtime_error);
}

TEST(BackendCheckup, KubernetesAccessModes) {
  EXPECT_EQ(kubernetesAccessMode("SINGLE_NODE_WRITER"), "ReadWriteOnce");
  EXPECT_EQ(kubernetesAccessMode("SINGLE_NODE_SINGLE_WRITER"), "ReadWriteOncePod");
  EXPECT_EQ(kubernetesAccessMode("MULTI_NODE_READER_ONLY"), "ReadOnlyMany");
  EXPECT_EQ(kubernetesAccessMode("MULTI_NODE_MULTI_WRITER"), "ReadWriteMany");
  EXPECT_FALSE(kubernetesAccessMode("MULTI_NODE_SINGLE_WRITER").has_value());
}

TEST(BackendCheckup, YamlQuotesWhatWouldReadAsAnotherType) {
  nlohmann::ordered_json v;
  v["kind"] = "StorageProfile";
  v["count"] = "300";
  v["flag"] = "yes";
  v["spaced"] = "a b";
  v["list"] = {{{"accessModes", {"ReadWriteMany"}}, {"volumeMode", "Block"}}};
  v["empty"] = nlohmann::ordered_json::array();
  EXPECT_EQ(toYaml(v),
            "kind: StorageProfile\n"
            "count: \"300\"\n"
            "flag: \"yes\"\n"
            "spaced: \"a b\"\n"
            "list:\n"
            "  - accessModes:\n"
            "      - ReadWriteMany\n"
            "    volumeMode: Block\n"
            "empty: []\n");
}

}  // namespace
}  // namespace polycsi::csictl
