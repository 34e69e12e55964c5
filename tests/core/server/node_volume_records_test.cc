#include "server/node_volume_records.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_directory.hpp"

namespace polycsi::server {
namespace {

class NodeVolumeRecordsTest : public ::testing::Test {
 protected:
  polycsi::testing::TempDir dir_{"polycsi-records"};
};

TEST_F(NodeVolumeRecordsTest, SaveLoadRemoveRoundTrip) {
  NodeVolumeRecords records(dir_.str() + "/node");
  NodeVolumeRecord r{"nfs:vol-1",
                     "nfs",
                     false,
                     Attachment::mount("10.0.0.1:/export/vol-1", "nfs", {"nfsvers=4.1"}),
                     "/var/lib/kubelet/staging/x",
                     "nfs"};
  ASSERT_TRUE(records.save(r).isOk());
  // A second instance (a restarted node plugin) reads the same record.
  NodeVolumeRecords reopened(dir_.str() + "/node");
  auto loaded = reopened.load("nfs:vol-1");
  ASSERT_TRUE(loaded.isOk());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->attachment.kind, Attachment::Kind::kMountSource);
  EXPECT_EQ((*loaded)->attachment.mountSource, "10.0.0.1:/export/vol-1");
  EXPECT_EQ((*loaded)->attachment.mountOptions, std::vector<std::string>{"nfsvers=4.1"});
  EXPECT_EQ((*loaded)->stagingPath, "/var/lib/kubelet/staging/x");
  EXPECT_FALSE((*loaded)->block);
  ASSERT_TRUE(reopened.remove("nfs:vol-1").isOk());
  ASSERT_TRUE(reopened.remove("nfs:vol-1").isOk()) << "removing twice is fine";
  auto gone = reopened.load("nfs:vol-1");
  ASSERT_TRUE(gone.isOk());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(NodeVolumeRecordsTest, CorruptRecordIsAnErrorNotAnEmptyState) {
  NodeVolumeRecords records(dir_.str());
  ASSERT_TRUE(
      records.save({"a:b", "a", true, Attachment::blockDevice("/dev/loop3"), "/s", ""}).isOk());
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    std::ofstream(entry.path()) << "{ not json";
  auto loaded = records.load("a:b");
  EXPECT_EQ(loaded.status().code(), Code::kInternal);
  EXPECT_NE(loaded.status().message().find("corrupt node record"), std::string::npos);
}

TEST_F(NodeVolumeRecordsTest, DifferentIdsNeverShareAFile) {
  NodeVolumeRecords records(dir_.str());
  ASSERT_TRUE(
      records.save({"a:x", "a", true, Attachment::blockDevice("/dev/loop1"), "/s1", ""}).isOk());
  ASSERT_TRUE(
      records.save({"b:x", "b", true, Attachment::blockDevice("/dev/loop2"), "/s2", ""}).isOk());
  EXPECT_EQ((*records.load("a:x"))->attachment.devicePath, "/dev/loop1");
  EXPECT_EQ((*records.load("b:x"))->attachment.devicePath, "/dev/loop2");
}

TEST_F(NodeVolumeRecordsTest, PublicationsSurviveARestartAndOldRecordsHaveNone) {
  NodeVolumeRecords records(dir_.str());
  NodeVolumeRecord r{"a:p", "a", false, Attachment::blockDevice("/dev/loop4"), "/s", "ext4"};
  r.publications.push_back(
      NodePublication{"/pods/a", AccessMode::kSingleNodeSingleWriter, "c1", "a1"});
  ASSERT_TRUE(records.save(r).isOk());
  auto loaded = NodeVolumeRecords(dir_.str()).load("a:p");
  ASSERT_TRUE(loaded.isOk() && loaded->has_value());
  ASSERT_EQ((*loaded)->publications.size(), 1u);
  EXPECT_EQ((*loaded)->publications[0].targetPath, "/pods/a");
  EXPECT_EQ((*loaded)->publications[0].access, AccessMode::kSingleNodeSingleWriter);
  EXPECT_EQ((*loaded)->publications[0].capability, "c1");
  EXPECT_EQ((*loaded)->publications[0].arguments, "a1");

  // A record written before publications were kept.
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    std::ofstream(entry.path()) << R"({"volume_id": "a:p", "backend": "a", "block": false,
        "kind": "block_device", "device_path": "/dev/loop4", "mount_source": "",
        "attachment_fs_type": "", "mount_options": [], "staging_path": "/s", "fs_type": "ext4"})";
  auto old = records.load("a:p");
  ASSERT_TRUE(old.isOk()) << old.status().message();
  EXPECT_TRUE((*old)->publications.empty());
}

TEST_F(NodeVolumeRecordsTest, EncryptedRecordKeepsItsMappingAcrossARestart) {
  NodeVolumeRecords records(dir_.str());
  NodeVolumeRecord r{"rds:pvc-1", "rds", true, Attachment::blockDevice("/dev/nvme1n1"), "/s", ""};
  r.luksMapping = "polycsi-rds+pvc-1";
  EXPECT_EQ(r.dataDevicePath(), "/dev/mapper/polycsi-rds+pvc-1");
  ASSERT_TRUE(records.save(r).isOk());
  auto loaded = NodeVolumeRecords(dir_.str()).load("rds:pvc-1");
  ASSERT_TRUE(loaded.isOk() && loaded->has_value());
  EXPECT_EQ((*loaded)->luksMapping, "polycsi-rds+pvc-1");
  EXPECT_EQ((*loaded)->attachment.devicePath, "/dev/nvme1n1");
  EXPECT_EQ((*loaded)->dataDevicePath(), "/dev/mapper/polycsi-rds+pvc-1");
}

TEST_F(NodeVolumeRecordsTest, ARecordWithoutAMappingFieldLoadsAsUnencrypted) {
  // What a driver before encryption wrote: no "luks_mapping".
  NodeVolumeRecords records(dir_.str());
  std::ofstream(dir_.str() + "/rds+pvc-2.json")
      << R"({"volume_id": "rds:pvc-2", "backend": "rds", "block": true, "kind": "block_device",
             "device_path": "/dev/nvme2n1", "mount_source": "", "attachment_fs_type": "",
             "mount_options": [], "staging_path": "/s", "fs_type": ""})";
  auto loaded = records.load("rds:pvc-2");
  ASSERT_TRUE(loaded.isOk()) << loaded.status().toString();
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->luksMapping, "");
  EXPECT_EQ((*loaded)->dataDevicePath(), "/dev/nvme2n1");
}

}  // namespace
}  // namespace polycsi::server
