#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <thread>

#include "sample_test_env.hpp"

namespace polycsi::sample::testing {
namespace {

class SampleControllerTest : public SampleTest {};

CreateVolumeRequest createRequest(const std::string& name, int64_t required, int64_t limit = 0) {
  CreateVolumeRequest req;
  req.name = name;
  req.requiredBytes = required;
  req.limitBytes = limit;
  return req;
}

TEST_F(SampleControllerTest, InitRefusesBadSettings) {
  auto code = [&](StringMap settings) {
    auto started = tryStart(std::move(settings));
    return started.isOk() ? Code::kOk : started.status().code();
  };
  EXPECT_EQ(code({{"directory", "relative/dir"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"directory", ""}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"capacity_bytes", "lots"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"capacity_bytes", "-5"}}), Code::kInvalidArgument);
  EXPECT_EQ(code({{"max_volume_bytes", "12x"}}), Code::kInvalidArgument);
  auto missing = host_.start(polycsi_plugin_entry(), InstanceConfig{.instanceName = "x"});
  ASSERT_FALSE(missing.isOk());
  EXPECT_NE(missing.status().message().find("'directory' is required"), std::string::npos)
      << missing.status().message();
}

TEST_F(SampleControllerTest, InitCreatesTheDirectoryLayout) {
  auto nested = dir_ / "a" / "b";
  start({{"directory", nested.string()}});
  EXPECT_TRUE(std::filesystem::is_directory(nested / "volumes"));
  EXPECT_TRUE(std::filesystem::is_directory(nested / "snapshots"));
}

TEST_F(SampleControllerTest, CreateIsIdempotentByName) {
  start();
  Volume first = create("pvc-one", 3 * kMiB + 1);
  EXPECT_EQ(first.capacityBytes, 4 * kMiB);
  EXPECT_TRUE(first.context.empty());  // no paths leak into the volume context
  EXPECT_EQ(fileSize(volumeImage(first.id)), 4 * kMiB);
  Volume again = create("pvc-one", 4 * kMiB);
  EXPECT_EQ(again.id, first.id);
  EXPECT_EQ(again.capacityBytes, first.capacityBytes);
  Volume smaller = create("pvc-one", kMiB);  // compatible: existing capacity covers it
  EXPECT_EQ(smaller.id, first.id);
  EXPECT_NE(create("pvc-two", kMiB).id, first.id);
  EXPECT_TRUE(host_.logged("created volume " + first.id));
}

TEST_F(SampleControllerTest, CreateWithoutSizeGivesOneGiBSparse) {
  start();
  Volume v = create("pvc-default", 0);
  EXPECT_EQ(v.capacityBytes, int64_t{1} << 30);
  struct stat st {};
  ASSERT_EQ(::stat(volumeImage(v.id).c_str(), &st), 0);
  EXPECT_EQ(st.st_size, int64_t{1} << 30);
  EXPECT_LT(st.st_blocks * 512, kMiB) << "the image should be sparse";
}

TEST_F(SampleControllerTest, IncompatibleRepeatIsAlreadyExists) {
  start();
  create("pvc-x", 2 * kMiB);
  auto bigger = backend().createVolume(createRequest("pvc-x", 4 * kMiB));
  ASSERT_FALSE(bigger.isOk());
  EXPECT_EQ(bigger.status().code(), Code::kAlreadyExists);
  EXPECT_NE(bigger.status().message().find("pvc-x"), std::string::npos);
  auto limited = backend().createVolume(createRequest("pvc-x", kMiB, kMiB));
  ASSERT_FALSE(limited.isOk());
  EXPECT_EQ(limited.status().code(), Code::kAlreadyExists);
  CreateVolumeRequest otherMode = createRequest("pvc-x", kMiB);
  otherMode.volumeMode = VolumeMode::kBlock;
  EXPECT_EQ(backend().createVolume(otherMode).status().code(), Code::kAlreadyExists);
}

TEST_F(SampleControllerTest, SizesBeyondLimitsAreOutOfRange) {
  start({{"max_volume_bytes", std::to_string(8 * kMiB)}});
  EXPECT_EQ(backend().createVolume(createRequest("a", 3 * kMiB, 2 * kMiB)).status().code(),
            Code::kOutOfRange);
  EXPECT_EQ(backend().createVolume(createRequest("b", 9 * kMiB)).status().code(),
            Code::kOutOfRange);
  EXPECT_TRUE(backend().createVolume(createRequest("c", 8 * kMiB)).isOk());
  // Nothing was left behind by the refused ones.
  auto page = backend().listVolumes({});
  ASSERT_TRUE(page.isOk());
  EXPECT_EQ(page->volumes.size(), 1u);
}

TEST_F(SampleControllerTest, NotEnoughCapacityIsResourceExhausted) {
  start({{"capacity_bytes", std::to_string(10 * kMiB)}});
  create("a", 8 * kMiB);
  auto full = backend().createVolume(createRequest("b", 4 * kMiB));
  ASSERT_FALSE(full.isOk());
  EXPECT_EQ(full.status().code(), Code::kResourceExhausted);
  EXPECT_NE(full.status().message().find("2097152 bytes available"), std::string::npos)
      << full.status().message();
  EXPECT_TRUE(backend().createVolume(createRequest("c", 2 * kMiB)).isOk());
}

TEST_F(SampleControllerTest, ConcurrentCreationsNeverOverbook) {
  start({{"capacity_bytes", std::to_string(10 * kMiB)}});
  constexpr int kThreads = 8;
  std::vector<Code> codes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      codes[i] = backend()
                     .createVolume(createRequest("pvc-race-" + std::to_string(i), 3 * kMiB))
                     .status()
                     .code();
    });
  for (auto& t : threads) t.join();
  // 10 MiB fit three 3 MiB volumes, whatever the interleaving.
  EXPECT_EQ(std::count(codes.begin(), codes.end(), Code::kOk), 3);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), Code::kResourceExhausted), kThreads - 3);
  EXPECT_EQ(backend().listVolumes({})->volumes.size(), 3u);
  EXPECT_EQ(backend().getCapacity({})->availableBytes, kMiB);
}

TEST_F(SampleControllerTest, CapacityIsConfiguredTotalMinusAllocations) {
  start({{"capacity_bytes", std::to_string(100 * kMiB)}, {"max_volume_bytes", "50000000"}});
  auto before = backend().getCapacity({});
  ASSERT_TRUE(before.isOk()) << before.status().toString();
  EXPECT_EQ(before->availableBytes, 100 * kMiB);
  EXPECT_EQ(before->maximumVolumeBytes, 50000000);
  EXPECT_EQ(before->minimumVolumeBytes, kMiB);
  Volume v = create("a", 30 * kMiB);
  EXPECT_EQ(backend().getCapacity({})->availableBytes, 70 * kMiB);
  ASSERT_TRUE(backend().deleteVolume({.volumeId = v.id}).isOk());
  EXPECT_EQ(backend().getCapacity({})->availableBytes, 100 * kMiB);
}

TEST_F(SampleControllerTest, CapacityDefaultsToTheFilesystemsFreeSpace) {
  start();
  auto capacity = backend().getCapacity({});
  ASSERT_TRUE(capacity.isOk());
  struct statvfs st {};
  ASSERT_EQ(::statvfs(dir_.c_str(), &st), 0);
  int64_t free = static_cast<int64_t>(st.f_bavail) * static_cast<int64_t>(st.f_frsize);
  // Other processes write to the same filesystem meanwhile: allow a little drift.
  EXPECT_NEAR(static_cast<double>(capacity->availableBytes), static_cast<double>(free),
              256.0 * kMiB);
  EXPECT_GT(capacity->availableBytes, 0);
}

TEST_F(SampleControllerTest, DeleteTwiceSucceedsAndRemovesTheFiles) {
  start();
  Volume v = create("pvc-del", kMiB);
  ASSERT_TRUE(backend().deleteVolume({.volumeId = v.id}).isOk());
  EXPECT_FALSE(std::filesystem::exists(volumeImage(v.id)));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "volumes" / (v.id + ".json")));
  EXPECT_TRUE(backend().deleteVolume({.volumeId = v.id}).isOk());
  EXPECT_EQ(backend().getVolume({.volumeId = v.id}).status().code(), Code::kNotFound);
  EXPECT_TRUE(backend().deleteVolume({.volumeId = "never-made"}).isOk());
}

TEST_F(SampleControllerTest, GetReturnsWhatCreateMade) {
  start();
  Volume v = create("pvc-get", 5 * kMiB);
  auto got = backend().getVolume({.volumeId = v.id});
  ASSERT_TRUE(got.isOk()) << got.status().toString();
  EXPECT_EQ(got->id, v.id);
  EXPECT_EQ(got->capacityBytes, 5 * kMiB);
  EXPECT_EQ(backend().getVolume({.volumeId = "vol-nope-0123456789abcdef"}).status().code(),
            Code::kNotFound);
}

TEST_F(SampleControllerTest, ListPagesThroughSortedVolumes) {
  start();
  std::set<std::string> made;
  for (int i = 0; i < 5; ++i) made.insert(create("pvc-list-" + std::to_string(i), kMiB).id);
  std::vector<std::string> seen;
  std::vector<size_t> pageSizes;
  std::string token;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = backend().listVolumes({.maxEntries = 2, .startingToken = token});
    ASSERT_TRUE(page.isOk()) << page.status().toString();
    pageSizes.push_back(page->volumes.size());
    for (const auto& v : page->volumes) seen.push_back(v.id);
    token = page->nextToken;
    if (token.empty()) break;
    EXPECT_EQ(token, seen.back());
  }
  EXPECT_EQ(pageSizes, (std::vector<size_t>{2, 2, 1}));
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), made);
  EXPECT_EQ(seen.size(), 5u);

  auto all = backend().listVolumes({});
  ASSERT_TRUE(all.isOk());
  EXPECT_EQ(all->volumes.size(), 5u);
  EXPECT_TRUE(all->nextToken.empty());
}

TEST_F(SampleControllerTest, ListWithABadTokenIsAborted) {
  start();
  create("pvc-a", kMiB);
  for (const char* bad : {"garbage", "../x", "snap-a-0123456789abcdef"}) {
    auto page = backend().listVolumes({.maxEntries = 2, .startingToken = bad});
    ASSERT_FALSE(page.isOk()) << bad;
    EXPECT_EQ(page.status().code(), Code::kAborted) << bad;
  }
}

TEST_F(SampleControllerTest, ListSurvivesDeletionOfTheTokenVolume) {
  start();
  for (int i = 0; i < 3; ++i) create("pvc-" + std::to_string(i), kMiB);
  auto first = backend().listVolumes({.maxEntries = 1});
  ASSERT_TRUE(first.isOk());
  ASSERT_TRUE(backend().deleteVolume({.volumeId = first->nextToken}).isOk());
  auto rest = backend().listVolumes({.startingToken = first->nextToken});
  ASSERT_TRUE(rest.isOk()) << rest.status().toString();
  EXPECT_EQ(rest->volumes.size(), 2u);
}

TEST_F(SampleControllerTest, ListReadsOnlyTheRecordsOfThePage) {
  start();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(create("pvc-page-" + std::to_string(i), kMiB).id);
  std::sort(ids.begin(), ids.end());
  // The last volume's metadata is unreadable: only a page that holds it may fail.
  std::ofstream(volumeImage(ids.back()).replace_extension(".json")) << "{ not json";
  auto first = backend().listVolumes({.maxEntries = 2});
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  ASSERT_EQ(first->volumes.size(), 2u);
  EXPECT_EQ(first->volumes[0].id, ids[0]);
  EXPECT_EQ(first->volumes[1].id, ids[1]);
  EXPECT_EQ(first->nextToken, ids[1]);
  auto second = backend().listVolumes({.maxEntries = 2, .startingToken = first->nextToken});
  EXPECT_FALSE(second.isOk()) << "the broken record is on this page";
}

TEST_F(SampleControllerTest, ExpandGrowsAndNeverShrinks) {
  start();
  Volume v = create("pvc-grow", 2 * kMiB);
  auto grown = backend().expandVolume({.volumeId = v.id, .requiredBytes = 5 * kMiB + 3});
  ASSERT_TRUE(grown.isOk()) << grown.status().toString();
  EXPECT_EQ(grown->capacityBytes, 6 * kMiB);
  EXPECT_TRUE(grown->nodeExpansionRequired);
  EXPECT_EQ(fileSize(volumeImage(v.id)), 6 * kMiB);
  EXPECT_EQ(backend().getVolume({.volumeId = v.id})->capacityBytes, 6 * kMiB);

  auto smaller = backend().expandVolume({.volumeId = v.id, .requiredBytes = kMiB});
  ASSERT_TRUE(smaller.isOk());
  EXPECT_EQ(smaller->capacityBytes, 6 * kMiB);
  EXPECT_EQ(fileSize(volumeImage(v.id)), 6 * kMiB);

  EXPECT_EQ(backend()
                .expandVolume({.volumeId = v.id, .requiredBytes = 9 * kMiB, .limitBytes = 8 * kMiB})
                .status()
                .code(),
            Code::kOutOfRange);
  EXPECT_EQ(backend()
                .expandVolume({.volumeId = "vol-x-0123456789abcdef", .requiredBytes = kMiB})
                .status()
                .code(),
            Code::kNotFound);
}

TEST_F(SampleControllerTest, ExpandBeyondCapacityIsResourceExhausted) {
  start({{"capacity_bytes", std::to_string(10 * kMiB)}});
  Volume v = create("pvc-grow", 4 * kMiB);
  EXPECT_EQ(backend().expandVolume({.volumeId = v.id, .requiredBytes = 11 * kMiB}).status().code(),
            Code::kResourceExhausted);
  EXPECT_TRUE(backend().expandVolume({.volumeId = v.id, .requiredBytes = 10 * kMiB}).isOk());
}

TEST_F(SampleControllerTest, PathTraversalIdsAreRefused) {
  start();
  // A file a traversing id would reach if it were used as a path.
  std::ofstream(dir_ / "x.json") << "{}";
  std::ofstream(dir_ / "x.img") << "precious";
  for (const char* bad : {"../x", "a/b", "..", "/etc/passwd", ""}) {
    EXPECT_EQ(backend().getVolume({.volumeId = bad}).status().code(), Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(backend().deleteVolume({.volumeId = bad}).code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(backend().expandVolume({.volumeId = bad, .requiredBytes = kMiB}).status().code(),
              Code::kInvalidArgument)
        << bad;
    EXPECT_EQ(backend().deleteSnapshot({.snapshotId = bad}).code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(backend().attach({.volumeId = bad}).status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(backend().detach({.volumeId = bad}).code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(backend().cloneVolume({.name = "c", .sourceId = "../x"}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(readAll(dir_ / "x.img"), "precious");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "x.json"));
}

TEST_F(SampleControllerTest, ForeignFilesInTheDirectoryAreNotVolumes) {
  start();
  // Legal ids that this backend never issues name nothing, even when such files exist.
  std::ofstream(dir_ / "volumes" / "other.json") << "{}";
  EXPECT_EQ(backend().getVolume({.volumeId = "other"}).status().code(), Code::kNotFound);
  EXPECT_TRUE(backend().deleteVolume({.volumeId = "other"}).isOk());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "volumes" / "other.json"));
}

TEST_F(SampleControllerTest, InterruptedCreationsLeaveNoVolume) {
  Volume v;
  {
    start();
    v = create("pvc-crash", kMiB);
    backend_.reset();
  }
  // Simulate a crash after the image was renamed into place but before the metadata existed,
  // and one in the middle of filling an image.
  std::filesystem::remove(dir_ / "volumes" / (v.id + ".json"));
  std::ofstream(dir_ / "volumes" / "vol-half-0123456789abcdef.img.partial") << "half";
  start();
  EXPECT_FALSE(std::filesystem::exists(dir_ / "volumes" / "vol-half-0123456789abcdef.img.partial"));
  EXPECT_EQ(backend().getVolume({.volumeId = v.id}).status().code(), Code::kNotFound);
  EXPECT_TRUE(backend().listVolumes({})->volumes.empty());
  // Retrying the creation completes it.
  Volume again = create("pvc-crash", kMiB);
  EXPECT_EQ(again.id, v.id);
  EXPECT_TRUE(backend().getVolume({.volumeId = v.id}).isOk());
}

TEST_F(SampleControllerTest, MetadataRecordsTheRequest) {
  start();
  Volume v = create("pvc-meta", kMiB, VolumeMode::kBlock);
  std::string json = readAll(dir_ / "volumes" / (v.id + ".json"));
  EXPECT_NE(json.find("\"name\": \"pvc-meta\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"volume_mode\": \"block\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"capacity_bytes\": 1048576"), std::string::npos) << json;
}

TEST_F(SampleControllerTest, CancelledCallsStopBeforeDoingAnything) {
  start();
  int32_t cancelled = 1;  // set before the call: no other thread writes it
  CreateVolumeRequest req = createRequest("pvc-cancelled", kMiB);
  req.call.cancelled = &cancelled;
  EXPECT_EQ(backend().createVolume(req).status().code(), Code::kCancelled);
  EXPECT_TRUE(backend().listVolumes({})->volumes.empty());
}

}  // namespace
}  // namespace polycsi::sample::testing
