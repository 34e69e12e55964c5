// The rds_nvme backend through its C ABI (FakeHost), against the recording FakeRds.
#include <gtest/gtest.h>

#include "rds_test_env.hpp"
#include "volume_naming.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

constexpr char kUuidName[] = "pvc-0a1b2c3d-1111-2222-3333-444455556666";

TEST(RdsDescriptor, NameMatrixAndParameters) {
  Descriptor d = polycsi::testing::FakeHost::describe(polycsi_plugin_entry());
  EXPECT_EQ(d.name, "rds_nvme");
  EXPECT_EQ(d.metricsPrefix, "rds_csi");
  using A = AccessMode;
  using V = VolumeMode;
  using S = AttachSemantics;
  EXPECT_EQ(d.semanticsFor(A::kSingleNodeWriter, V::kBlock), S::kExclusive);
  EXPECT_EQ(d.semanticsFor(A::kSingleNodeWriter, V::kFilesystem), S::kExclusive);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeMultiWriter, V::kBlock), S::kMigrationWindow);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeMultiWriter, V::kFilesystem), S::kUnsupported);
  EXPECT_NE(d.unsupportedReason(A::kMultiNodeMultiWriter, V::kFilesystem).find("corrupt"),
            std::string::npos);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeReaderOnly, V::kBlock), S::kShared);
  EXPECT_EQ(d.semanticsFor(A::kMultiNodeSingleWriter, V::kBlock), S::kUnsupported);
  std::set<std::string> params;
  for (const auto& p : d.parameters) params.insert(p.name);
  EXPECT_EQ(params,
            (std::set<std::string>{"rdsAddress", "rdsPort", "rdsBasePath", "volumePath",
                                   "nvmeAddress", "nvmePort", "ctrlLossTmo", "reconnectDelay",
                                   "keepAliveTmo", "sshPort", "fsType", "nqnPrefix"}));
  bool secretKey = false;
  for (const auto& s : d.settings) secretKey = secretKey || (s.name == "private_key" && s.secret);
  EXPECT_TRUE(secretKey);
  auto features = PluginFeatures::of(polycsi_plugin_entry());
  EXPECT_TRUE(features.snapshots);
  EXPECT_TRUE(features.cloneVolume);
  EXPECT_TRUE(features.fencing);
}

class RdsControllerTest : public RdsBackendTest {};

TEST_F(RdsControllerTest, SettingsAreCheckedAtInit) {
  auto code = [&](StringMap overrides, std::vector<std::string> drop = {}) {
    StringMap settings = baseSettings();
    for (auto& [k, v] : overrides) settings[k] = v;
    for (auto& k : drop) settings.erase(k);
    auto started = tryStart(settings);
    return started.isOk() ? Code::kOk : started.status().code();
  };
  EXPECT_EQ(code({}), Code::kOk);
  EXPECT_EQ(code({}, {"address"}), Code::kInvalidArgument);
  EXPECT_EQ(code({}, {"user"}), Code::kInvalidArgument);
  EXPECT_EQ(code({}, {"password"}), Code::kInvalidArgument);
  EXPECT_EQ(code({}, {"base_path"}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"port", "99999"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"host_key_fingerprint", "MD5:aa:bb"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"private_key", "not a key"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"volume_prefix", "snap-"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"copy_timeout_seconds", "59"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"copy_timeout_seconds", "86401"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"copy_timeout_seconds", "86400"}}), Code::kOk);
  auto unpinned = tryStart([] {
    StringMap s = baseSettings();
    s.erase("host_key_fingerprint");
    return s;
  }());
  ASSERT_FALSE(unpinned.isOk());
  EXPECT_NE(unpinned.status().message().find("host key must be pinned"), std::string::npos);
  // Explicitly insecure works, loudly.
  StringMap insecure = baseSettings();
  insecure.erase("host_key_fingerprint");
  insecure["insecure_ignore_host_key"] = "true";
  auto started = tryStart(insecure);
  ASSERT_TRUE(started.isOk()) << started.status().toString();
  EXPECT_TRUE(host_.logged("man-in-the-middle"));
  // A node-only instance needs no SSH settings.
  EXPECT_TRUE(tryStart({}, Role::kNode).isOk());
  EXPECT_EQ(rds_.commands().size(), 0u);
}

TEST_F(RdsControllerTest, CreateSendsTheDocumentedCommandAndIsIdempotent) {
  start();
  Volume v = create(kUuidName, 10 * kGiB);
  EXPECT_EQ(v.id, kUuidName);
  EXPECT_EQ(v.capacityBytes, 10 * kGiB);
  EXPECT_EQ(v.context.at("nqn"), std::string("nqn.2000-02.com.mikrotik:") + kUuidName);
  EXPECT_EQ(v.context.at("nvmeAddress"), "10.42.68.1");
  EXPECT_EQ(v.context.at("nvmePort"), "4420");
  auto commands = rds_.commands();
  std::string add = std::string("/disk add type=file file-path=\"") + kBase + "/" + kUuidName +
                    ".img\" file-size=10G slot=\"" + kUuidName +
                    "\" nvme-tcp-export=yes nvme-tcp-server-port=4420 "
                    "nvme-tcp-server-nqn=\"nqn.2000-02.com.mikrotik:" +
                    kUuidName + "\"";
  EXPECT_NE(std::find(commands.begin(), commands.end(), add), commands.end());
  // Fencing closes the new export with the placeholder.
  EXPECT_EQ(rds_.disk(kUuidName)->props.at("nvme-tcp-server-allow-host-name"),
            kFencedPlaceholderNqn);

  rds_.clearCommands();
  Volume again = create(kUuidName, 10 * kGiB);
  EXPECT_EQ(again.id, v.id);
  EXPECT_EQ(rds_.count("/disk add"), 0);
  EXPECT_EQ(rds_.count("/disk set"), 0);
  Volume smaller = create(kUuidName, kGiB);  // the existing disk covers it
  EXPECT_EQ(smaller.capacityBytes, 10 * kGiB);
}

TEST_F(RdsControllerTest, SizesRoundUpNeverDown) {
  start();
  EXPECT_EQ(create("pvc-one-byte", 1).capacityBytes, kMiB);
  EXPECT_EQ(create("pvc-odd", kGiB + 1).capacityBytes, kGiB + kMiB);
  EXPECT_EQ(create("pvc-default", 0).capacityBytes, kGiB);
  auto tooTight = createRequest("pvc-tight", kGiB + 1);
  tooTight.limitBytes = kGiB + 100;
  auto refused = backend_->createVolume(tooTight);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kOutOfRange);
}

TEST_F(RdsControllerTest, IncompatibleRepeatIsAlreadyExists) {
  start();
  create("pvc-x", kGiB);
  auto bigger = backend_->createVolume(createRequest("pvc-x", 2 * kGiB));
  ASSERT_FALSE(bigger.isOk());
  EXPECT_EQ(bigger.status().code(), Code::kAlreadyExists);
  auto otherPath = backend_->createVolume(
      createRequest("pvc-x", kGiB, {{"rdsBasePath", "/storage-pool/other"}}));
  ASSERT_FALSE(otherPath.isOk());
  EXPECT_EQ(otherPath.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(rds_.count("/disk add"), 1);
}

TEST_F(RdsControllerTest, NamesThatAreNotSlotsGetAStableHashedSlot) {
  start();
  Volume a = create("my.volume_1", kGiB);
  EXPECT_EQ(a.id.rfind("pvc-h", 0), 0u) << a.id;
  EXPECT_LE(a.id.size(), 63u);
  EXPECT_EQ(create("my.volume_1", kGiB).id, a.id);
  EXPECT_NE(create("my.volume_2", kGiB).id, a.id);
}

TEST_F(RdsControllerTest, StorageClassParametersOverrideWhenConsistent) {
  start();
  Volume v = create("pvc-sc", kGiB,
                    {{"rdsAddress", "10.42.68.1"},
                     {"rdsPort", "22"},
                     {"volumePath", "/storage-pool/metal-csi"},
                     {"nvmeAddress", "10.42.241.3"},
                     {"nvmePort", "4421"}});
  EXPECT_EQ(v.context.at("nvmeAddress"), "10.42.241.3");
  EXPECT_EQ(v.context.at("nvmePort"), "4421");
  EXPECT_EQ(rds_.disk("pvc-sc")->props.at("file-path"), "/storage-pool/metal-csi/pvc-sc.img");
  EXPECT_EQ(rds_.disk("pvc-sc")->props.at("nvme-tcp-server-port"), "4421");

  rds_.clearCommands();
  auto otherRds =
      backend_->createVolume(createRequest("pvc-o", kGiB, {{"rdsAddress", "10.9.9.9"}}));
  ASSERT_FALSE(otherRds.isOk());
  EXPECT_EQ(otherRds.status().code(), Code::kInvalidArgument);
  EXPECT_NE(otherRds.status().message().find("configure another backend"), std::string::npos);
  auto otherPort = backend_->createVolume(createRequest("pvc-o", kGiB, {{"rdsPort", "2222"}}));
  EXPECT_EQ(otherPort.status().code(), Code::kInvalidArgument);
  auto aliases = backend_->createVolume(createRequest(
      "pvc-o", kGiB, {{"rdsBasePath", "/storage-pool/a"}, {"volumePath", "/storage-pool/b"}}));
  EXPECT_EQ(aliases.status().code(), Code::kInvalidArgument);
  auto unknown = backend_->createVolume(createRequest("pvc-o", kGiB, {{"thinPool", "yes"}}));
  EXPECT_EQ(unknown.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rds_.commands().size(), 0u);
}

// rds-csi's StorageClass keys (github.com/3whiskeywhiskey/rds-csi at 97597243,
// pkg/driver/controller.go, params.go): kept where the meaning can be kept, else refused
// before any command.
TEST_F(RdsControllerTest, RdsCsiStorageClassParametersKeepTheirMeaningOrAreRefused) {
  start();
  Volume v = create(kUuidName, kGiB,
                    {{"nvmeAddress", "10.42.68.1"},
                     {"nvmePort", "4420"},
                     {"volumePath", "/storage-pool/metal-csi"},
                     {"fsType", "xfs"},
                     {"sshPort", "22"},
                     {"nqnPrefix", "nqn.2000-02.com.mikrotik"}});
  EXPECT_EQ(v.context.at("nqn"), std::string("nqn.2000-02.com.mikrotik:") + kUuidName);
  EXPECT_EQ(rds_.disk(kUuidName)->props.at("file-path"),
            std::string("/storage-pool/metal-csi/") + kUuidName + ".img");

  rds_.clearCommands();
  auto refused = [&](const std::map<std::string, std::string>& params, const std::string& says) {
    auto r = backend_->createVolume(createRequest("pvc-r", kGiB, params));
    ASSERT_FALSE(r.isOk());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  };
  refused({{"sshPort", "2222"}}, "sshPort=2222 differs from this backend's SSH port (22)");
  refused({{"nqnPrefix", "nqn.2001-01.org.example"}}, "differs from this backend's nqn_prefix");
  // Its per-volume connect tuning is checked as the node reads it, and nothing is made when
  // a value is out of range.
  refused({{"ctrlLossTmo", "-2"}},
          "StorageClass parameter ctrlLossTmo='-2' is not -1 (forever), 0 (the kernel's default) "
          "or 1-604800 seconds");
  refused({{"reconnectDelay", "0"}}, "reconnectDelay='0' is not 1-3600 seconds");
  refused({{"keepAliveTmo", "5s"}}, "keepAliveTmo='5s' is not 0 (the kernel's default) or 1-3600");
  EXPECT_EQ(rds_.commands().size(), 0u);
}

// ctrlLossTmo, reconnectDelay and keepAliveTmo of a StorageClass reach the node in the volume
// context under rds-csi's keys; a class without them leaves the context without them (the
// node's settings apply).
TEST_F(RdsControllerTest, ConnectTuningTravelsInTheVolumeContext) {
  start();
  Volume tuned = create("pvc-tuned", kGiB,
                        {{"ctrlLossTmo", "-1"}, {"reconnectDelay", "3"}, {"keepAliveTmo", "0"}});
  EXPECT_EQ(tuned.context.at("ctrlLossTmo"), "-1");
  EXPECT_EQ(tuned.context.at("reconnectDelay"), "3");
  EXPECT_EQ(tuned.context.at("keepAliveTmo"), "0");
  Volume plain = create("pvc-plain", kGiB, {});
  EXPECT_EQ(plain.context.count("ctrlLossTmo"), 0u);
  EXPECT_EQ(plain.context.count("reconnectDelay"), 0u);
  EXPECT_EQ(plain.context.count("keepAliveTmo"), 0u);
}

TEST_F(RdsControllerTest, DeleteRemovesDiskAndFileAndGoneIsSuccess) {
  start();
  Volume v = create("pvc-del", kGiB);
  std::string file = std::string(kBase).substr(1) + "/pvc-del.img";
  ASSERT_TRUE(rds_.hasFile(file));
  VolumeIdRequest del;
  del.volumeId = v.id;
  EXPECT_TRUE(backend_->deleteVolume(del).isOk());
  EXPECT_FALSE(rds_.disk("pvc-del").has_value());
  EXPECT_FALSE(rds_.hasFile(file));
  EXPECT_EQ(rds_.count("/disk remove [find slot=\"pvc-del\"]"), 1);
  EXPECT_EQ(rds_.count("/file remove [find name=\"" + file + "\"]"), 1);
  EXPECT_TRUE(backend_->deleteVolume(del).isOk());
  // Disk gone but file left behind (an interrupted delete): the file is found and removed.
  rds_.addFile("storage-pool/elsewhere/pvc-left.img");
  rds_.addFile("storage-pool/elsewhere/pvc-left2.img");
  del.volumeId = "pvc-left";
  EXPECT_TRUE(backend_->deleteVolume(del).isOk());
  EXPECT_FALSE(rds_.hasFile("storage-pool/elsewhere/pvc-left.img"));
  EXPECT_TRUE(rds_.hasFile("storage-pool/elsewhere/pvc-left2.img"));
}

TEST_F(RdsControllerTest, GetListAndPaging) {
  start();
  for (const char* name : {"pvc-c", "pvc-a", "pvc-b"}) create(name, kGiB);
  rds_.addDisk("other-disk", "/storage-pool/x/other.img", kGiB);
  VolumeIdRequest get;
  get.volumeId = "pvc-b";
  auto v = backend_->getVolume(get);
  ASSERT_TRUE(v.isOk());
  EXPECT_EQ(v->capacityBytes, kGiB);
  get.volumeId = "pvc-zz";
  EXPECT_EQ(backend_->getVolume(get).status().code(), Code::kNotFound);
  ListRequest list;
  list.maxEntries = 2;
  auto first = backend_->listVolumes(list);
  ASSERT_TRUE(first.isOk());
  ASSERT_EQ(first->volumes.size(), 2u);
  EXPECT_EQ(first->volumes[0].id, "pvc-a");
  EXPECT_EQ(first->volumes[1].id, "pvc-b");
  list.startingToken = first->nextToken;
  auto second = backend_->listVolumes(list);
  ASSERT_TRUE(second.isOk());
  ASSERT_EQ(second->volumes.size(), 1u);
  EXPECT_EQ(second->volumes[0].id, "pvc-c");
  EXPECT_EQ(second->nextToken, "");
  list.startingToken = "not a token!";
  EXPECT_EQ(backend_->listVolumes(list).status().code(), Code::kAborted);
}

// CSI: a negative max_entries is INVALID_ARGUMENT, for volumes and snapshots alike, and
// nothing is sent to the RDS for it.
TEST_F(RdsControllerTest, ListingWithANegativeMaxEntriesIsInvalid) {
  start();
  rds_.clearCommands();
  ListRequest list;
  list.maxEntries = -1;
  auto volumes = backend_->listVolumes(list);
  EXPECT_EQ(volumes.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(volumes.status().message(), "max_entries must not be negative, got -1");
  EXPECT_EQ(backend_->listSnapshots(list).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rds_.commands().size(), 0u);
}

TEST_F(RdsControllerTest, ExpandGrowsOnly) {
  start();
  create("pvc-grow", kGiB);
  ExpandRequest req;
  req.volumeId = "pvc-grow";
  req.requiredBytes = 3 * kGiB + 1;
  auto grown = backend_->expandVolume(req);
  ASSERT_TRUE(grown.isOk()) << grown.status().toString();
  EXPECT_EQ(grown->capacityBytes, 3 * kGiB + kMiB);
  EXPECT_EQ(rds_.count("/disk set [find slot=\"pvc-grow\"] file-size=3073M"), 1);
  req.requiredBytes = kGiB;
  auto same = backend_->expandVolume(req);
  ASSERT_TRUE(same.isOk());
  EXPECT_EQ(same->capacityBytes, 3 * kGiB + kMiB);
  EXPECT_EQ(rds_.count("/disk set [find slot=\"pvc-grow\"] file-size"), 1);
  req.volumeId = "pvc-missing";
  EXPECT_EQ(backend_->expandVolume(req).status().code(), Code::kNotFound);
}

TEST_F(RdsControllerTest, CapacityIsThePoolsFreeSpace) {
  start();
  auto c = backend_->getCapacity(CapacityRequest{});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->availableBytes, int64_t{5963595964416} / kMiB * kMiB);
  EXPECT_EQ(rds_.count("/disk print detail where mount-point=\"storage-pool\""), 1);
  CapacityRequest other;
  other.parameters["rdsBasePath"] = "/missing-pool/x";
  EXPECT_EQ(backend_->getCapacity(other).status().code(), Code::kFailedPrecondition);
}

// A copy-from that outlasted its call: RouterOS made the target file, the answer was lost and
// no disk is listed yet (RouterOS may still be copying). A retry must not start a second copy
// (for a snapshot into another file, since its name carries the time), and takes the disk once
// RouterOS lists it.
TEST_F(RdsControllerTest, ACopyWhoseAnswerWasLostIsNeverStartedTwice) {
  start();
  create("pvc-src", 2 * kGiB);
  const std::string snapSlot = snapshotSlotForName("snapshot-slow").str();
  const std::string snapFile =
      std::string(kBase) + "/" + snapSlot + ".from-pvc-src.at-1700000000.img";
  rds_.addFile(snapFile.substr(1), 2 * kGiB);
  rds_.clearCommands();
  CreateSnapshotRequest snap;
  snap.name = "snapshot-slow";
  snap.sourceVolumeId = "pvc-src";
  auto pending = backend_->createSnapshot(snap);
  ASSERT_FALSE(pending.isOk());
  EXPECT_EQ(pending.status().code(), Code::kAborted) << pending.status().toString();
  EXPECT_NE(pending.status().message().find("No second copy is started"), std::string::npos)
      << pending.status().toString();
  EXPECT_EQ(rds_.count("/disk add"), 0);
  // RouterOS finishes the copy and lists its disk.
  rds_.addDisk(snapSlot, snapFile, 2 * kGiB, false);
  auto taken = backend_->createSnapshot(snap);
  ASSERT_TRUE(taken.isOk()) << taken.status().toString();
  EXPECT_EQ(taken->id, snapSlot);
  EXPECT_EQ(taken->creationTimeUnixNs, int64_t{1700000000} * 1000000000);
  EXPECT_EQ(rds_.count("/disk add"), 0);

  // The same for a clone, whose file has a fixed name.
  const std::string cloneFile = std::string(kBase) + "/pvc-slow-clone.img";
  rds_.addFile(cloneFile.substr(1), 2 * kGiB);
  CreateVolumeRequest clone = createRequest("pvc-slow-clone", 0);
  clone.sourceId = "pvc-src";
  auto cloning = backend_->cloneVolume(clone);
  ASSERT_FALSE(cloning.isOk());
  EXPECT_EQ(cloning.status().code(), Code::kAborted) << cloning.status().toString();
  EXPECT_EQ(rds_.count("/disk add"), 0);
  rds_.addDisk("pvc-slow-clone", cloneFile, 2 * kGiB);
  auto cloned = backend_->cloneVolume(clone);
  ASSERT_TRUE(cloned.isOk()) << cloned.status().toString();
  EXPECT_EQ(cloned->capacityBytes, 2 * kGiB);
  EXPECT_EQ(rds_.count("/disk add"), 0);
}

TEST_F(RdsControllerTest, SnapshotsRestoreAndClone) {
  start();
  create("pvc-src", 2 * kGiB);
  CreateSnapshotRequest snap;
  snap.name = "snapshot-1";
  snap.sourceVolumeId = "pvc-src";
  auto s = backend_->createSnapshot(snap);
  ASSERT_TRUE(s.isOk()) << s.status().toString();
  EXPECT_EQ(s->id.rfind("snap-", 0), 0u);
  EXPECT_EQ(s->sourceVolumeId, "pvc-src");
  EXPECT_EQ(s->sizeBytes, 2 * kGiB);
  EXPECT_GT(s->creationTimeUnixNs, 0);
  auto disk = rds_.disk(s->id);
  ASSERT_TRUE(disk.has_value());
  EXPECT_EQ(disk->props.at("nvme-tcp-export"), "no");  // snapshots are not exported
  EXPECT_EQ(rds_.count("/disk add type=file copy-from=[find slot=\"pvc-src\"]"), 1);

  auto again = backend_->createSnapshot(snap);
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->id, s->id);
  EXPECT_EQ(again->creationTimeUnixNs, s->creationTimeUnixNs);
  create("pvc-other", kGiB);
  snap.sourceVolumeId = "pvc-other";
  EXPECT_EQ(backend_->createSnapshot(snap).status().code(), Code::kAlreadyExists);

  ListRequest list;
  list.sourceVolumeId = "pvc-src";
  auto listed = backend_->listSnapshots(list);
  ASSERT_TRUE(listed.isOk());
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].id, s->id);
  list.sourceVolumeId = "pvc-other";
  EXPECT_TRUE(backend_->listSnapshots(list)->snapshots.empty());

  // Restore, bigger than the snapshot: copied then grown.
  CreateVolumeRequest restore = createRequest("pvc-restored", 3 * kGiB);
  restore.sourceId = s->id;
  auto restored = backend_->createVolumeFromSnapshot(restore);
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  EXPECT_EQ(restored->capacityBytes, 3 * kGiB);
  EXPECT_EQ(rds_.disk("pvc-restored")->props.at("nvme-tcp-export"), "yes");
  EXPECT_EQ(rds_.count("/disk add type=file copy-from=[find slot=\"" + s->id + "\"]"), 1);
  auto restoredAgain = backend_->createVolumeFromSnapshot(restore);
  ASSERT_TRUE(restoredAgain.isOk());

  // Clone from a volume.
  CreateVolumeRequest clone = createRequest("pvc-clone", 0);
  clone.sourceId = "pvc-src";
  auto cloned = backend_->cloneVolume(clone);
  ASSERT_TRUE(cloned.isOk()) << cloned.status().toString();
  EXPECT_EQ(cloned->capacityBytes, 2 * kGiB);
  clone.name = "pvc-clone2";
  clone.sourceId = "pvc-nothing";
  EXPECT_EQ(backend_->cloneVolume(clone).status().code(), Code::kNotFound);
  clone.sourceId = s->id;  // a snapshot is not a volume
  EXPECT_EQ(backend_->cloneVolume(clone).status().code(), Code::kNotFound);

  SnapshotIdRequest del;
  del.snapshotId = s->id;
  EXPECT_TRUE(backend_->deleteSnapshot(del).isOk());
  EXPECT_FALSE(rds_.disk(s->id).has_value());
  EXPECT_TRUE(backend_->deleteSnapshot(del).isOk());
  // A volume id given as snapshot id deletes nothing.
  del.snapshotId = "pvc-src";
  EXPECT_TRUE(backend_->deleteSnapshot(del).isOk());
  EXPECT_TRUE(rds_.disk("pvc-src").has_value());
}

TEST_F(RdsControllerTest, FencingAllowsOnlyPublishedNodes) {
  start();
  create("pvc-f", kGiB);
  auto allowList = [&] { return rds_.disk("pvc-f")->props.at("nvme-tcp-server-allow-host-name"); };
  EXPECT_EQ(allowList(), kFencedPlaceholderNqn);

  rds_.clearCommands();
  auto ctx = backend_->publish(publishRequest("pvc-f", "node-a", kNodeA));
  ASSERT_TRUE(ctx.isOk()) << ctx.status().toString();
  EXPECT_EQ(ctx->at("nqn"), "nqn.2000-02.com.mikrotik:pvc-f");
  EXPECT_EQ(allowList(), kNodeA);
  EXPECT_EQ(rds_.count(std::string("/disk set [find slot=\"pvc-f\"] "
                                   "nvme-tcp-server-allow-host-name=\"") +
                       kNodeA + "\""),
            1);
  // Publishing again changes nothing.
  ASSERT_TRUE(backend_->publish(publishRequest("pvc-f", "node-a", kNodeA)).isOk());
  EXPECT_EQ(rds_.count("/disk set"), 1);
  // Migration: a second node joins for the window.
  ASSERT_TRUE(backend_->publish(publishRequest("pvc-f", "node-b", kNodeB)).isOk());
  EXPECT_EQ(allowList(), std::string(kNodeA) + "," + kNodeB);
  ASSERT_TRUE(backend_->unpublish(publishRequest("pvc-f", "node-a", kNodeA)).isOk());
  EXPECT_EQ(allowList(), kNodeB);
  ASSERT_TRUE(backend_->unpublish(publishRequest("pvc-f", "node-a", kNodeA)).isOk());
  EXPECT_EQ(allowList(), kNodeB);
  // The last node leaves: the export closes instead of opening to everyone.
  ASSERT_TRUE(backend_->unpublish(publishRequest("pvc-f", "node-b", kNodeB)).isOk());
  EXPECT_EQ(allowList(), kFencedPlaceholderNqn);

  auto noIdentity = backend_->publish(publishRequest("pvc-f", "node-c", ""));
  EXPECT_EQ(noIdentity.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(backend_->publish(publishRequest("pvc-none", "node-a", kNodeA)).status().code(),
            Code::kNotFound);
  EXPECT_TRUE(backend_->unpublish(publishRequest("pvc-none", "node-a", kNodeA)).isOk());
}

// The controller's volume conditions of a page come from one listing of the RDS; each volume's
// allow-list is compared with its published nodes, naming an extra or a missing host.
TEST_F(RdsControllerTest, VolumeConditionsComeFromOneListingAndCompareTheAllowList) {
  start();
  create("pvc-h1", kGiB);
  create("pvc-h2", kGiB);
  ASSERT_TRUE(backend_->publish(publishRequest("pvc-h1", "node-a", kNodeA)).isOk());
  rds_.clearCommands();
  ControllerConditionRequest req;
  req.volumes = {{"pvc-h1", {{"node-a", kNodeA}}}, {"pvc-h2", {}}, {"pvc-h3", {}}};
  auto conditions = backend_->controllerVolumeConditions(req);
  ASSERT_TRUE(conditions.isOk()) << conditions.status().toString();
  ASSERT_EQ(conditions->size(), 3u);
  EXPECT_FALSE((*conditions)[0].abnormal) << (*conditions)[0].message;
  EXPECT_FALSE((*conditions)[1].abnormal) << (*conditions)[1].message;
  EXPECT_TRUE((*conditions)[2].abnormal);
  EXPECT_NE((*conditions)[2].message.find("disk pvc-h3 does not exist on the RDS at "),
            std::string::npos)
      << (*conditions)[2].message;
  EXPECT_EQ(rds_.commands().size(), 1u) << "one /disk print detail for the whole page";

  // The core believes node-a is gone, node-b published: both differences are named.
  req.volumes = {{"pvc-h1", {{"node-b", kNodeB}}}};
  auto differs = backend_->controllerVolumeConditions(req);
  ASSERT_TRUE(differs.isOk());
  ASSERT_EQ(differs->size(), 1u);
  EXPECT_TRUE((*differs)[0].abnormal);
  EXPECT_EQ((*differs)[0].message,
            std::string("disk pvc-h1: node node-b (host NQN ") + kNodeB +
                ") is published but missing from the allow-list: it cannot connect; host NQN " +
                kNodeA +
                " is on the allow-list but no node is published: that host can reach the data; "
                "remove it from nvme-tcp-server-allow-host-name on the RDS");
}

// An RDS that does not answer makes every volume's condition say so, naming it, instead of
// failing the call (ListVolumes must still page).
TEST_F(RdsControllerTest, AnUnreachableRdsIsEveryVolumesCondition) {
  class Unreachable : public CommandTransport {
   public:
    CommandReply run(const RouterOsCommand&, const Call&) override {
      throw TransportError(Code::kUnavailable, "connect to 10.42.68.1:22: Connection refused",
                           false);
    }
  };
  transports_ = [](const RdsSettings&, const Host&) -> std::unique_ptr<CommandTransport> {
    return std::make_unique<Unreachable>();
  };
  start();
  ControllerConditionRequest req;
  req.volumes = {{"pvc-h1", {}}, {"pvc-h2", {}}};
  auto conditions = backend_->controllerVolumeConditions(req);
  ASSERT_TRUE(conditions.isOk()) << conditions.status().toString();
  ASSERT_EQ(conditions->size(), 2u);
  for (const auto& c : *conditions) {
    EXPECT_TRUE(c.abnormal);
    EXPECT_EQ(c.message.rfind("the RDS at ", 0), 0u) << c.message;
    EXPECT_NE(c.message.find("is unreachable: "), std::string::npos) << c.message;
    EXPECT_NE(c.message.find("Connection refused"), std::string::npos) << c.message;
  }
}

// nvme_addresses: the volume context keeps one nvmeAddress (the first path, as rds-csi and
// older polycsi PVs have it); publish hands the node every path, also for a volume created
// before the second path was configured.
TEST_F(RdsControllerTest, PublishHandsTheNodeEveryNvmePath) {
  start({{"nvme_addresses", "10.42.68.1,10.42.69.1"}});
  Volume v = create("pvc-mp", kGiB);
  EXPECT_EQ(v.context.at("nvmeAddress"), "10.42.68.1");
  EXPECT_EQ(v.context.count("nvmeAddresses"), 0u);
  PublishRequest req = publishRequest("pvc-mp", "node-a", kNodeA);
  req.volumeContext = v.context;
  auto ctx = backend_->publish(req);
  ASSERT_TRUE(ctx.isOk()) << ctx.status().toString();
  EXPECT_EQ(ctx->at("nvmeAddresses"), "10.42.68.1,10.42.69.1");
  EXPECT_EQ(ctx->at("nvmeAddress"), "10.42.68.1");
  // A class that pointed its volumes at another target keeps that one path.
  req.volumeContext["nvmeAddress"] = "10.42.241.3";
  ctx = backend_->publish(req);
  ASSERT_TRUE(ctx.isOk()) << ctx.status().toString();
  EXPECT_EQ(ctx->at("nvmeAddresses"), "10.42.241.3");
  // One configured path (nvme_address, or none: address) is published as a list of one.
  backend_.reset();
  start();
  ctx = backend_->publish(publishRequest("pvc-mp", "node-a", kNodeA));
  ASSERT_TRUE(ctx.isOk()) << ctx.status().toString();
  EXPECT_EQ(ctx->at("nvmeAddresses"), "10.42.68.1");
}

TEST_F(RdsControllerTest, FencingOffSendsNoAllowList) {
  start({{"fencing", "false"}});
  create("pvc-open", kGiB);
  ASSERT_TRUE(backend_->publish(publishRequest("pvc-open", "node-a", "")).isOk());
  EXPECT_EQ(rds_.count("/disk set"), 0);
  EXPECT_EQ(rds_.disk("pvc-open")->props.at("nvme-tcp-server-allow-host-name"), "");
}

TEST_F(RdsControllerTest, RouterOsErrorsReachTheCallerWithTheirCode) {
  start();
  rds_.failNextWith("failure: not enough space", RouterOsCommand::Action::kAdd);
  auto v = backend_->createVolume(createRequest("pvc-full", 100 * kGiB));
  ASSERT_FALSE(v.isOk());
  EXPECT_EQ(v.status().code(), Code::kResourceExhausted);
  EXPECT_NE(v.status().message().find("not enough space"), std::string::npos);
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
