#include <gtest/gtest.h>
#include <sys/stat.h>

#include <set>

#include "sample_test_env.hpp"

namespace polycsi::sample::testing {
namespace {

class SampleSnapshotTest : public SampleTest {
 protected:
  Snapshot snapshot(const std::string& name, const std::string& sourceVolumeId) {
    auto s = backend().createSnapshot({.name = name, .sourceVolumeId = sourceVolumeId});
    EXPECT_TRUE(s.isOk()) << s.status().toString();
    return s.isOk() ? *s : Snapshot{};
  }

  // Marks a volume's content at three places, the last near its end.
  void markVolume(const Volume& v) {
    writeAt(volumeImage(v.id), 0, "first block");
    writeAt(volumeImage(v.id), 3 * kMiB + 17, "middle");
    writeAt(volumeImage(v.id), v.capacityBytes - 4, "end!");
  }

  static int64_t allocatedBytes(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_blocks) * 512 : -1;
  }
};

TEST_F(SampleSnapshotTest, RestoreReproducesTheContentAtSnapshotTime) {
  start();
  Volume source = create("pvc-src", 8 * kMiB);
  markVolume(source);
  std::string atSnapshot = readAll(volumeImage(source.id));
  Snapshot snap = snapshot("snap-1", source.id);
  EXPECT_EQ(snap.sourceVolumeId, source.id);
  EXPECT_EQ(snap.sizeBytes, 8 * kMiB);
  EXPECT_TRUE(snap.readyToUse);
  EXPECT_GT(snap.creationTimeUnixNs, 0);
  // Changing the source afterwards must not change the snapshot.
  writeAt(volumeImage(source.id), 0, "LATER");

  auto restored = backend().createVolumeFromSnapshot(
      {.name = "pvc-restored", .requiredBytes = 0, .sourceId = snap.id});
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  EXPECT_EQ(restored->capacityBytes, 8 * kMiB);
  EXPECT_EQ(restored->sourceSnapshotId, snap.id);
  EXPECT_EQ(readAll(volumeImage(restored->id)), atSnapshot);
  // Holes stay holes: three marked blocks, not eight MiB.
  EXPECT_LT(allocatedBytes(volumeImage(restored->id)), kMiB);
}

TEST_F(SampleSnapshotTest, RestoreIntoALargerVolumeKeepsContentAndZeroFillsTheRest) {
  start();
  Volume source = create("pvc-src", 4 * kMiB);
  markVolume(source);
  std::string content = readAll(volumeImage(source.id));
  Snapshot snap = snapshot("snap-1", source.id);
  auto restored = backend().createVolumeFromSnapshot(
      {.name = "pvc-big", .requiredBytes = 6 * kMiB, .sourceId = snap.id});
  ASSERT_TRUE(restored.isOk()) << restored.status().toString();
  EXPECT_EQ(restored->capacityBytes, 6 * kMiB);
  std::string data = readAll(volumeImage(restored->id));
  ASSERT_EQ(data.size(), static_cast<size_t>(6 * kMiB));
  EXPECT_EQ(data.substr(0, content.size()), content);
  EXPECT_EQ(data.substr(content.size()), std::string(2 * kMiB, '\0'));
  // Restoring into something smaller than the snapshot cannot work.
  EXPECT_EQ(backend()
                .createVolumeFromSnapshot({.name = "pvc-small",
                                           .requiredBytes = kMiB,
                                           .limitBytes = 2 * kMiB,
                                           .sourceId = snap.id})
                .status()
                .code(),
            Code::kOutOfRange);
}

TEST_F(SampleSnapshotTest, CloneCopiesTheVolume) {
  start();
  Volume source = create("pvc-src", 5 * kMiB);
  markVolume(source);
  auto clone = backend().cloneVolume({.name = "pvc-clone", .sourceId = source.id});
  ASSERT_TRUE(clone.isOk()) << clone.status().toString();
  EXPECT_EQ(clone->capacityBytes, 5 * kMiB);
  EXPECT_EQ(clone->sourceVolumeId, source.id);
  EXPECT_EQ(readAll(volumeImage(clone->id)), readAll(volumeImage(source.id)));
  // Same name, same source: the same clone. Same name, other source: conflict.
  auto again = backend().cloneVolume({.name = "pvc-clone", .sourceId = source.id});
  ASSERT_TRUE(again.isOk());
  EXPECT_EQ(again->id, clone->id);
  Volume other = create("pvc-other", kMiB);
  EXPECT_EQ(backend().cloneVolume({.name = "pvc-clone", .sourceId = other.id}).status().code(),
            Code::kAlreadyExists);
  EXPECT_EQ(backend().createVolume({.name = "pvc-clone", .requiredBytes = kMiB}).status().code(),
            Code::kAlreadyExists);
}

TEST_F(SampleSnapshotTest, UnknownSourcesAreNotFound) {
  start();
  EXPECT_EQ(backend()
                .cloneVolume({.name = "c", .sourceId = "vol-ghost-0123456789abcdef"})
                .status()
                .code(),
            Code::kNotFound);
  EXPECT_EQ(backend()
                .createVolumeFromSnapshot({.name = "r", .sourceId = "snap-ghost-0123456789abcdef"})
                .status()
                .code(),
            Code::kNotFound);
  EXPECT_EQ(backend()
                .createSnapshot({.name = "s", .sourceVolumeId = "vol-ghost-0123456789abcdef"})
                .status()
                .code(),
            Code::kNotFound);
  // A volume id is not a snapshot id.
  Volume v = create("pvc-v", kMiB);
  EXPECT_EQ(backend().createVolumeFromSnapshot({.name = "r", .sourceId = v.id}).status().code(),
            Code::kNotFound);
}

TEST_F(SampleSnapshotTest, CreateIsIdempotentByName) {
  start();
  Volume a = create("pvc-a", kMiB);
  Volume b = create("pvc-b", kMiB);
  Snapshot first = snapshot("snap-x", a.id);
  Snapshot again = snapshot("snap-x", a.id);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.creationTimeUnixNs, first.creationTimeUnixNs);
  auto conflict = backend().createSnapshot({.name = "snap-x", .sourceVolumeId = b.id});
  ASSERT_FALSE(conflict.isOk());
  EXPECT_EQ(conflict.status().code(), Code::kAlreadyExists);
}

TEST_F(SampleSnapshotTest, ListFiltersAndPages) {
  start();
  Volume a = create("pvc-a", kMiB);
  Volume b = create("pvc-b", kMiB);
  std::set<std::string> ofA;
  for (int i = 0; i < 3; ++i) ofA.insert(snapshot("snap-a" + std::to_string(i), a.id).id);
  Snapshot ofB = snapshot("snap-b", b.id);

  auto all = backend().listSnapshots({});
  ASSERT_TRUE(all.isOk()) << all.status().toString();
  EXPECT_EQ(all->snapshots.size(), 4u);

  auto bySource = backend().listSnapshots({.sourceVolumeId = a.id});
  ASSERT_TRUE(bySource.isOk());
  std::set<std::string> got;
  for (const auto& s : bySource->snapshots) got.insert(s.id);
  EXPECT_EQ(got, ofA);

  auto byId = backend().listSnapshots({.snapshotId = ofB.id});
  ASSERT_TRUE(byId.isOk());
  ASSERT_EQ(byId->snapshots.size(), 1u);
  EXPECT_EQ(byId->snapshots[0].sourceVolumeId, b.id);
  EXPECT_TRUE(backend()
                  .listSnapshots({.sourceVolumeId = b.id, .snapshotId = *ofA.begin()})
                  ->snapshots.empty());
  EXPECT_TRUE(
      backend().listSnapshots({.snapshotId = "snap-none-0123456789abcdef"})->snapshots.empty());

  std::vector<std::string> paged;
  std::string token;
  int pages = 0;
  do {
    auto page = backend().listSnapshots({.maxEntries = 3, .startingToken = token});
    ASSERT_TRUE(page.isOk()) << page.status().toString();
    for (const auto& s : page->snapshots) paged.push_back(s.id);
    token = page->nextToken;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(paged.size(), 4u);
  EXPECT_EQ(backend().listSnapshots({.startingToken = "nonsense"}).status().code(), Code::kAborted);
}

TEST_F(SampleSnapshotTest, DeleteTwiceSucceedsAndRestoreThenFails) {
  start();
  Volume v = create("pvc-v", kMiB);
  Snapshot s = snapshot("snap-del", v.id);
  EXPECT_TRUE(std::filesystem::exists(snapshotImage(s.id)));
  ASSERT_TRUE(backend().deleteSnapshot({.snapshotId = s.id}).isOk());
  EXPECT_FALSE(std::filesystem::exists(snapshotImage(s.id)));
  EXPECT_TRUE(backend().deleteSnapshot({.snapshotId = s.id}).isOk());
  EXPECT_TRUE(backend().listSnapshots({})->snapshots.empty());
  EXPECT_EQ(backend().createVolumeFromSnapshot({.name = "r", .sourceId = s.id}).status().code(),
            Code::kNotFound);
  // The source volume is unaffected.
  EXPECT_TRUE(backend().getVolume({.volumeId = v.id}).isOk());
}

TEST_F(SampleSnapshotTest, SnapshotsCountAgainstCapacity) {
  start({{"capacity_bytes", std::to_string(10 * kMiB)}});
  Volume v = create("pvc-v", 6 * kMiB);
  auto s = backend().createSnapshot({.name = "snap-big", .sourceVolumeId = v.id});
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.status().code(), Code::kResourceExhausted);
  EXPECT_TRUE(backend().listSnapshots({})->snapshots.empty());
}

}  // namespace
}  // namespace polycsi::sample::testing
