// The array model without tgtd: naming, sizing, copies, mappings and persistence.
#include "array_store.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "api_error.hpp"
#include "temp_directory.hpp"

namespace powerstore_sim {
namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

int statusOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const ApiError& error) {
    return error.status();
  }
  return 0;
}

class ArrayStoreTest : public ::testing::Test {
 protected:
  polycsi::testing::TempDir dir_;
  ArrayStore store_{dir_.path(), ports(), nullptr};
  static std::vector<SimIpPort> ports() {
    return simIpPorts("iqn.2015-10.com.dell:test", {"127.0.0.1", "127.0.0.2"});
  }
};

TEST_F(ArrayStoreTest, CreatesSparseVolumeAndRefusesDuplicateName) {
  const SimVolume v = store_.createVolume("pvc-1", 64 * kMiB, "d");
  EXPECT_EQ(store_.volume(v.id).size, 64 * kMiB);
  EXPECT_EQ(std::filesystem::file_size(dir_.path() / "volumes" / (v.id + ".img")), 64 * kMiB);
  EXPECT_EQ(statusOf([&] { store_.createVolume("pvc-1", kMiB, ""); }), 422);
  // dell/csi-powerstore pkg/controller/base.go: a multiple of 8192 from 1 MiB to 256 TiB.
  EXPECT_EQ(store_.createVolume("pvc-2", kMiB + 8192, "").size, kMiB + 8192);
  EXPECT_EQ(statusOf([&] { store_.createVolume("pvc-3", kMiB + 512, ""); }), 400);
  EXPECT_EQ(statusOf([&] { store_.createVolume("pvc-4", kMiB - 8192, ""); }), 400);
  EXPECT_EQ(statusOf([&] { store_.createVolume("pvc-5", (256ull << 40) + 8192, ""); }), 400);
  EXPECT_EQ(statusOf([&] { store_.volume("00000000-0000-4000-8000-000000000000"); }), 404);
}

TEST_F(ArrayStoreTest, GrowsButNeverShrinks) {
  const SimVolume v = store_.createVolume("pvc-1", 4 * kMiB, "");
  EXPECT_EQ(store_.resizeVolume(v.id, 8 * kMiB).size, 8 * kMiB);
  EXPECT_EQ(statusOf([&] { store_.resizeVolume(v.id, 2 * kMiB); }), 422);
  EXPECT_EQ(store_.volume(v.id).size, 8 * kMiB);
}

TEST_F(ArrayStoreTest, SnapshotAndCloneCopyContent) {
  const SimVolume v = store_.createVolume("pvc-1", kMiB, "");
  {
    std::fstream file(dir_.path() / "volumes" / (v.id + ".img"),
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(4096);
    file << "hello";
  }
  const SimVolume snap = store_.snapshot(v.id, "snap-1", "");
  EXPECT_EQ(snap.type, "Snapshot");
  EXPECT_EQ(snap.source_id, v.id);
  const SimVolume restored = store_.clone(snap.id, "pvc-2", "");
  EXPECT_EQ(restored.type, "Primary");
  std::ifstream file(dir_.path() / "volumes" / (restored.id + ".img"), std::ios::binary);
  file.seekg(4096);
  std::string word(5, ' ');
  file.read(word.data(), 5);
  EXPECT_EQ(word, "hello");
  EXPECT_EQ(std::filesystem::file_size(dir_.path() / "volumes" / (restored.id + ".img")), kMiB);
  EXPECT_EQ(statusOf([&] { store_.snapshot(snap.id, "snap-of-snap", ""); }), 422);
  EXPECT_EQ(statusOf([&] { store_.resizeVolume(snap.id, 2 * kMiB); }), 422);
}

TEST_F(ArrayStoreTest, MappingsGuardDeletionAndSurviveRestart) {
  const SimVolume v = store_.createVolume("pvc-1", kMiB, "");
  const SimHost h =
      store_.createHost("node-a", "Linux", {{"iqn.1994-05.com.redhat:a", "iSCSI", "", ""}});
  EXPECT_EQ(statusOf([&] {
              store_.createHost("node-b", "Linux", {{"iqn.1994-05.com.redhat:a", "iSCSI", "", ""}});
            }),
            422);
  EXPECT_EQ(statusOf([&] {
              store_.createHost("node-c", "Linux", {{"not-an-iqn", "iSCSI", "", ""}});
            }),
            400);
  store_.attach(h.id, v.id);
  EXPECT_EQ(statusOf([&] { store_.attach(h.id, v.id); }), 422);
  EXPECT_EQ(statusOf([&] { store_.deleteVolume(v.id); }), 422);
  EXPECT_EQ(statusOf([&] { store_.deleteHost(h.id); }), 422);

  ArrayStore reloaded(dir_.path(), ports(), nullptr);
  ASSERT_EQ(reloaded.mappings().size(), 1u);
  EXPECT_EQ(reloaded.mappings()[0].volume_id, v.id);
  EXPECT_EQ(reloaded.host(h.id).initiators.at(0).port_name, "iqn.1994-05.com.redhat:a");

  reloaded.detach(h.id, v.id);
  EXPECT_EQ(statusOf([&] { reloaded.detach(h.id, v.id); }), 422);
  reloaded.deleteVolume(v.id);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "volumes" / (v.id + ".img")));
  EXPECT_EQ(statusOf([&] { reloaded.volume(v.id); }), 404);
}

// LUN numbers come from the mapping; the store shares one LUN space among hosts because
// tgtd targets are shared (README.md), so no two mappings ever carry the same number.
TEST_F(ArrayStoreTest, MappingsTakeTheLowestFreeLun) {
  const SimVolume v1 = store_.createVolume("pvc-1", kMiB, "");
  const SimVolume v2 = store_.createVolume("pvc-2", kMiB, "");
  const SimVolume v3 = store_.createVolume("pvc-3", kMiB, "");
  const SimHost a =
      store_.createHost("node-a", "Linux", {{"iqn.1994-05.com.redhat:a", "iSCSI", "", ""}});
  const SimHost b =
      store_.createHost("node-b", "Linux", {{"iqn.1994-05.com.redhat:b", "iSCSI", "", ""}});
  EXPECT_EQ(store_.attach(a.id, v1.id).logical_unit_number, 1);
  EXPECT_EQ(store_.attach(b.id, v2.id).logical_unit_number, 2);
  store_.detach(a.id, v1.id);
  EXPECT_EQ(store_.attach(a.id, v3.id).logical_unit_number, 1);
  EXPECT_EQ(store_.ports().size(), 2u);
  EXPECT_NE(store_.ports()[0].target_iqn, store_.ports()[1].target_iqn);
}

TEST_F(ArrayStoreTest, SeedsHostsMappedToAVolume) {
  const SimVolume v = store_.createVolume("pvc-1", kMiB, "");
  store_.seedHosts("bulk-", 150, v.id);
  EXPECT_EQ(store_.hosts().size(), 150u);
  EXPECT_EQ(store_.mappings().size(), 150u);
  EXPECT_EQ(statusOf([&] { store_.seedHosts("bulk-", 1, ""); }), 422);
}

// PATCH volume/{id} policies: the three predefined performance policies, protection policies
// the array has (or "" to remove); another id is 400 and changes nothing, also not the size
// asked for in the same call; the policies survive a restart.
TEST_F(ArrayStoreTest, PoliciesAreCheckedSetAllOrNothingAndKept) {
  const SimVolume v = store_.createVolume("pvc-qos", kMiB, "");
  EXPECT_EQ(v.performance_policy_id, "default_medium");
  EXPECT_EQ(v.protection_policy_id, "");
  store_.addProtectionPolicy("pp-1", "gold");
  SimVolumeChange change;
  change.performance_policy_id = "default_high";
  change.protection_policy_id = "pp-1";
  store_.modifyVolume(v.id, change);
  SimVolumeChange unknown;
  unknown.size = 2 * kMiB;
  unknown.performance_policy_id = "default_turbo";
  EXPECT_EQ(statusOf([&] { store_.modifyVolume(v.id, unknown); }), 400);
  unknown.performance_policy_id.reset();
  unknown.protection_policy_id = "pp-2";
  EXPECT_EQ(statusOf([&] { store_.modifyVolume(v.id, unknown); }), 400);
  EXPECT_EQ(store_.volume(v.id).size, kMiB) << "nothing of a refused call is applied";
  SimVolumeChange atCreate;
  atCreate.performance_policy_id = "fast";
  EXPECT_EQ(statusOf([&] { store_.createVolume("pvc-bad", kMiB, "", atCreate); }), 400);

  ArrayStore reloaded{dir_.path(), ports(), nullptr};
  EXPECT_EQ(reloaded.volume(v.id).performance_policy_id, "default_high");
  EXPECT_EQ(reloaded.volume(v.id).protection_policy_id, "pp-1");
  SimVolumeChange remove;
  remove.protection_policy_id = "";
  reloaded.modifyVolume(v.id, remove);
  EXPECT_EQ(reloaded.volume(v.id).protection_policy_id, "");
  EXPECT_EQ(toJson(reloaded.volume(v.id))["protection_policy_id"], nullptr);
}

// Volume groups as PowerStore REST API 4.1 defines them (OpenAPI `volume_group_create`,
// `volume_group_snapshot`, `volume_group_delete`, DELETE /volume/{id}).
TEST_F(ArrayStoreTest, VolumeGroupsFollowTheArraysRules) {
  const SimVolume a = store_.createVolume("a", kMiB, "");
  const SimVolume b = store_.createVolume("b", kMiB, "");
  {
    std::ofstream file(dir_.path() / "volumes" / (a.id + ".img"),
                       std::ios::in | std::ios::out | std::ios::binary);
    file << "disk-a";
  }
  const SimVolumeGroup group = store_.createVolumeGroup("vg", "", {a.id, b.id}, true);
  EXPECT_EQ(group.type, "Primary");
  // "should not be part of another volume group"; names unique ignoring case; no snapshots.
  EXPECT_EQ(statusOf([&] { store_.createVolumeGroup("other", "", {a.id}, true); }), 422);
  EXPECT_EQ(statusOf([&] { store_.createVolumeGroup("VG", "", {}, true); }), 422);
  const SimVolume c = store_.createVolume("c", kMiB, "");
  EXPECT_EQ(statusOf([&] { store_.createVolumeGroup("twice", "", {c.id, c.id}, true); }), 400);
  // "a member of a volume group cannot be deleted".
  EXPECT_EQ(statusOf([&] { store_.deleteVolume(a.id); }), 422);

  const SimVolumeGroup set = store_.snapshotVolumeGroup(group.id, "set", "d");
  EXPECT_EQ(set.type, "Snapshot");
  EXPECT_EQ(set.source_id, group.id);
  ASSERT_EQ(set.volume_ids.size(), 2u);
  const SimVolume member = store_.volume(set.volume_ids[0]);
  EXPECT_EQ(member.type, "Snapshot");
  EXPECT_EQ(member.source_id, a.id);
  std::ifstream copy(dir_.path() / "volumes" / (member.id + ".img"), std::ios::binary);
  std::string content(6, '\0');
  copy.read(content.data(), 6);
  EXPECT_EQ(content, "disk-a");
  EXPECT_EQ(statusOf([&] { store_.createVolumeGroup("snaps", "", {member.id}, true); }), 422);
  // A snapshot set's members leave only with the set.
  EXPECT_EQ(statusOf([&] { store_.deleteVolume(member.id); }), 422);
  EXPECT_EQ(statusOf([&] { store_.removeVolumeGroupMembers(set.id, {member.id}); }), 422);

  // Out of the group, a volume still cannot go while its snapshot is in a set.
  store_.removeVolumeGroupMembers(group.id, {a.id, b.id});
  EXPECT_EQ(statusOf([&] { store_.removeVolumeGroupMembers(group.id, {a.id}); }), 422);
  EXPECT_EQ(statusOf([&] { store_.deleteVolume(a.id); }), 422);
  EXPECT_EQ(statusOf([&] { store_.snapshotVolumeGroup(group.id, "empty", ""); }), 422);

  // Persisted like every other object.
  ArrayStore reloaded{dir_.path(), ports(), nullptr};
  EXPECT_EQ(reloaded.volumeGroups().size(), 2u);

  // Deleting the source group deletes its sets and their snapshots; its members stay.
  store_.deleteVolumeGroup(group.id, false);
  EXPECT_TRUE(store_.volumeGroups().empty());
  EXPECT_EQ(statusOf([&] { store_.volume(member.id); }), 404);
  store_.deleteVolume(a.id);
  EXPECT_EQ(store_.volume(b.id).name, "b");

  // With delete_members the members go too, unless one may not (then nothing happens).
  const SimVolumeGroup second = store_.createVolumeGroup("vg2", "", {b.id}, true);
  store_.deleteVolumeGroup(second.id, true);
  EXPECT_EQ(statusOf([&] { store_.volume(b.id); }), 404);
}

TEST(ApiErrorTest, BodyHasDellShape) {
  const nlohmann::json body = ApiError(422, kCodeNameInUse, "in use", {"x"}).body();
  ASSERT_EQ(body.at("messages").size(), 1u);
  EXPECT_EQ(body["messages"][0].at("severity"), "Error");
  EXPECT_EQ(body["messages"][0].at("message_l10n"), "in use");
  EXPECT_EQ(body["messages"][0].at("arguments")[0], "x");
  EXPECT_EQ(body["messages"][0].at("code"), kCodeNameInUse);
}

}  // namespace
}  // namespace powerstore_sim
