// Copies longer than the caller's deadline, in-process (SDK FakeHost) against a real
// nfs-ganesha: the sidecars cancel CreateSnapshot and CreateVolume at their --timeout, and a
// large snapshot or clone must still complete on a retry, without starting again from zero,
// and never be visible half-made. Each copy is held at a known point by CopyJobs's test seam,
// so no test depends on how fast the machine copies; the caller's deadline is its
// cancellation flag, set by the test as the core sets it when the deadline passes.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "ganesha_backend_test.hpp"
#include "ganesha_server.hpp"
#include "nfs_client.hpp"
#include "polycsi/copy_jobs.hpp"

namespace polycsi::nfs::testing {
namespace {

namespace fs = std::filesystem;
using polycsi::testing::GaneshaServer;

constexpr int kSourceFiles = 24;
constexpr size_t kFileBytes = 64 * 1024;

// Holds the copy whose job key starts with `prefix` after its `step`th entry, until released
// or until the copy's own call is cancelled (a deletion or the backend's destruction).
class CopyGate {
 public:
  // Holds the copy at its `step`th entry whose key starts with `prefix`; set it before a
  // NfsCopyDeadlineTest routes the copies' steps here (hold()).
  void install(std::string prefix, int step) {
    prefix_ = std::move(prefix);
    step_ = step;
  }
  // A copy's progress report (CopyJobs::Options::afterProgress), on the copy's thread.
  void step(const std::string& key, const Call& call) {
    if (key.rfind(prefix_, 0) != 0) return;
    std::unique_lock<std::mutex> lock(mu_);
    if (++steps_ != step_) return;
    reached_ = true;
    changed_.notify_all();
    while (!released_ && !call.isCancelled())
      changed_.wait_for(lock, std::chrono::milliseconds(10));
  }
  // True once the copy is held; false if that did not happen within a minute.
  bool waitReached() {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, std::chrono::minutes(1), [&] { return reached_; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    changed_.notify_all();
  }

 private:
  std::string prefix_;
  int step_ = 0;
  std::mutex mu_;
  std::condition_variable changed_;
  int steps_ = 0;
  bool reached_ = false;
  bool released_ = false;
};

// A caller whose deadline the test decides: the flag is the one the core sets when the
// sidecar's deadline passes or it cancels the call.
struct CancellableCall {
  alignas(std::atomic_ref<int32_t>::required_alignment) int32_t flag = 0;
  Call call() {
    Call c;
    c.timeout = std::chrono::minutes(10);
    c.cancelled = &flag;
    return c;
  }
  void cancel() { std::atomic_ref<int32_t>(flag).store(1, std::memory_order_release); }
};

class NfsCopyDeadlineTest : public GaneshaBackendTest {
 protected:
  void SetUp() override {
    GaneshaBackendTest::SetUp();
    afterCopyProgress_ = [this](const std::string& key, const Call& call) {
      if (CopyGate* gate = activeGate_.load()) gate->step(key, call);
    };
  }
  void TearDown() override {
    gate_.release();
    GaneshaBackendTest::TearDown();  // the backend's destruction stops every copy
  }
  // From now on the copies' steps go to `gate`, holding the `step`th of a key with `prefix`.
  void hold(CopyGate& gate, std::string prefix, int step) {
    gate.install(std::move(prefix), step);
    activeGate_.store(&gate);
  }
  std::atomic<CopyGate*> activeGate_{nullptr};
  PluginInstance& start() { return startBackend("nfs-copy", /*timeoutSeconds=*/5); }
  // Sends `request` through `send` (CreateSnapshot or a clone) with a deadline, and once the
  // copy is held at `gate` cancels the call, as the sidecar does when its deadline passes.
  // Returns that call's answer, or nullopt when the copy never reached the gate. `request`
  // is left without a deadline, ready for a retry.
  template <typename Request, typename Send>
  auto cutAtDeadline(Request& request, CopyGate& gate, Send send)
      -> std::optional<decltype(send(request))> {
    CancellableCall caller;
    request.call = caller.call();
    auto answer = std::async(std::launch::async, [&] { return send(request); });
    const bool reached = gate.waitReached();
    caller.cancel();
    auto cut = answer.get();
    request.call = Call{};
    if (!reached) return std::nullopt;
    return cut;
  }
  // A volume holding kSourceFiles files of distinct content, written on the server's side.
  std::string makeSourceVolume(PluginInstance& b, const std::string& name) {
    CreateVolumeRequest r;
    r.name = name;
    r.requiredBytes = 1 << 20;
    auto vol = b.createVolume(r);
    if (!vol.isOk()) throw std::runtime_error(vol.status().toString());
    for (int i = 0; i < kSourceFiles; ++i) {
      std::ofstream out(dir(name + "/file-" + std::to_string(i)), std::ios::binary);
      out << std::string(kFileBytes, static_cast<char>('a' + i % 26));
    }
    return vol->id;
  }
  std::string dir(const std::string& relative) const {
    return server_.exportDir() + "/" + relative;
  }
  std::string staging(const std::string& id) const { return dir(".polycsi/staging/" + id); }
  static size_t entries(const std::string& path) {
    if (!fs::is_directory(path)) return 0;
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(path), fs::directory_iterator()));
  }
  // The number of copies the backend started.
  int copiesStarted() const {
    int n = 0;
    for (const auto& line : host_.logs())
      if (line.message.rfind("started copying", 0) == 0) ++n;
    return n;
  }
  // Every source file is in `copy`, with its content.
  void expectSameFiles(const std::string& source, const std::string& copy) const {
    ASSERT_EQ(entries(dir(copy)), static_cast<size_t>(kSourceFiles)) << copy;
    for (int i = 0; i < kSourceFiles; ++i) {
      std::string name = "/file-" + std::to_string(i);
      std::ifstream a(dir(source + name), std::ios::binary);
      std::ifstream b(dir(copy + name), std::ios::binary);
      std::string left((std::istreambuf_iterator<char>(a)), {});
      std::string right((std::istreambuf_iterator<char>(b)), {});
      EXPECT_EQ(left.size(), kFileBytes) << source + name;
      EXPECT_TRUE(left == right) << copy + name << " differs from its source";
    }
  }
  // Calls CreateSnapshot as the external-snapshotter does until the snapshot is ready to use
  // (at most 600 calls, each waiting for the copy at most half of its 2 s).
  StatusOr<Snapshot> pollUntilReady(PluginInstance& b, const CreateSnapshotRequest& base) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      CreateSnapshotRequest r = base;
      r.call.timeout = std::chrono::seconds(2);
      auto s = b.createSnapshot(r);
      if (!s.isOk() || s->readyToUse) return s;
    }
    return Status(Code::kDeadlineExceeded, "the snapshot never became ready");
  }

  CopyGate gate_;
};

TEST_F(NfsCopyDeadlineTest, SnapshotLongerThanTheDeadlineIsNotReadyThenCompletesWithoutRestart) {
  auto& b = start();
  std::string source = makeSourceVolume(b, "pvc-big");
  hold(gate_, "snapshot/", 5);

  CreateSnapshotRequest req;
  req.name = "snap-big";
  req.sourceVolumeId = source;
  auto answer = cutAtDeadline(req, gate_, [&](auto& r) { return b.createSnapshot(r); });
  ASSERT_TRUE(answer.has_value()) << "the copy never got to its fifth entry";
  auto cut = *answer;  // the sidecar's deadline passed
  ASSERT_TRUE(cut.isOk()) << cut.status().toString();
  EXPECT_FALSE(cut->readyToUse);
  EXPECT_EQ(cut->id, "s-snap-big");
  // The half copy is in staging, never where the snapshot lives.
  EXPECT_FALSE(fs::exists(dir(".snapshots/s-snap-big")));
  EXPECT_EQ(entries(staging("s-snap-big")), 5u);

  // A retry while the copy is still held finds it: still not ready, nothing started again.
  CreateSnapshotRequest retry = req;
  retry.call = Call{};
  retry.call.timeout = std::chrono::milliseconds(200);
  auto again = b.createSnapshot(retry);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_FALSE(again->readyToUse);
  EXPECT_EQ(copiesStarted(), 1);

  gate_.release();
  retry.call = Call{};
  auto ready = pollUntilReady(b, retry);
  ASSERT_TRUE(ready.isOk()) << ready.status().toString();
  EXPECT_TRUE(ready->readyToUse);
  EXPECT_EQ(copiesStarted(), 1) << "the copy started again from zero";
  EXPECT_TRUE(host_.logged("(" + std::to_string(kSourceFiles) + " entries, " +
                           std::to_string(kSourceFiles * kFileBytes) + " bytes copied)"));
  expectSameFiles("pvc-big", ".snapshots/s-snap-big");
  EXPECT_FALSE(fs::exists(staging("s-snap-big")));
}

TEST_F(NfsCopyDeadlineTest, CloneLongerThanTheDeadlineIsAbortedThenTheRetryGetsTheSameCopy) {
  auto& b = start();
  std::string source = makeSourceVolume(b, "pvc-origin");
  hold(gate_, "volume/", 7);

  CreateVolumeRequest req;
  req.name = "pvc-clone";
  req.requiredBytes = 1 << 20;
  req.sourceId = source;
  auto answer = cutAtDeadline(req, gate_, [&](auto& r) { return b.cloneVolume(r); });
  ASSERT_TRUE(answer.has_value()) << "the copy never got to its seventh entry";
  auto cut = *answer;
  ASSERT_FALSE(cut.isOk());
  EXPECT_EQ(cut.status().code(), Code::kAborted) << cut.status().toString();
  EXPECT_NE(cut.status().message().find("is still being copied"), std::string::npos)
      << cut.status().toString();
  EXPECT_FALSE(fs::exists(dir("pvc-clone"))) << "a half copy is visible as the volume";
  EXPECT_EQ(entries(staging("pvc-clone")), 7u);
  EXPECT_FALSE(b.getVolume(VolumeIdRequest{{}, "pvc-clone", {}}).isOk());

  gate_.release();
  CreateVolumeRequest retry = req;
  retry.call = Call{};
  retry.call.timeout = std::chrono::minutes(5);
  auto done = b.cloneVolume(retry);
  ASSERT_TRUE(done.isOk()) << done.status().toString();
  EXPECT_EQ(done->id, "pvc-clone");
  EXPECT_EQ(copiesStarted(), 1) << "the copy started again from zero";
  expectSameFiles("pvc-origin", "pvc-clone");
  EXPECT_FALSE(fs::exists(staging("pvc-clone")));
  EXPECT_TRUE(b.getVolume(VolumeIdRequest{{}, "pvc-clone", {}}).isOk());
}

TEST_F(NfsCopyDeadlineTest, DeletingDuringACopyStopsItAndLeavesNothing) {
  auto& b = start();
  std::string source = makeSourceVolume(b, "pvc-src");
  hold(gate_, "", 3);  // whichever copy comes first

  CreateSnapshotRequest snap;
  snap.name = "snap-gone";
  snap.sourceVolumeId = source;
  auto answer = cutAtDeadline(snap, gate_, [&](auto& r) { return b.createSnapshot(r); });
  ASSERT_TRUE(answer.has_value()) << "the snapshot's copy never got to its third entry";
  auto cut = *answer;
  ASSERT_TRUE(cut.isOk()) << cut.status().toString();
  ASSERT_FALSE(cut->readyToUse);
  ASSERT_EQ(entries(staging("s-snap-gone")), 3u);
  // The copy is still held: the deletion must stop it, not wait for it to finish.
  ASSERT_TRUE(b.deleteSnapshot(SnapshotIdRequest{{}, "s-snap-gone", {}}).isOk());
  EXPECT_FALSE(fs::exists(staging("s-snap-gone")));
  EXPECT_FALSE(fs::exists(dir(".snapshots/s-snap-gone")));
  EXPECT_FALSE(fs::exists(dir(".polycsi/snapshots/s-snap-gone.json")));
  auto listed = b.listSnapshots(ListRequest{});
  ASSERT_TRUE(listed.isOk()) << listed.status().toString();
  EXPECT_TRUE(listed->snapshots.empty());

  // The same for a clone, held at its third entry.
  CopyGate cloneGate;
  hold(cloneGate, "volume/", 3);
  CreateVolumeRequest clone;
  clone.name = "pvc-gone";
  clone.requiredBytes = 1 << 20;
  clone.sourceId = source;
  auto cloned = cutAtDeadline(clone, cloneGate, [&](auto& r) { return b.cloneVolume(r); });
  ASSERT_TRUE(cloned.has_value()) << "the clone's copy never got to its third entry";
  ASSERT_EQ(cloned->status().code(), Code::kAborted);
  ASSERT_EQ(entries(staging("pvc-gone")), 3u);
  ASSERT_TRUE(b.deleteVolume(VolumeIdRequest{{}, "pvc-gone", {}}).isOk());
  EXPECT_FALSE(fs::exists(staging("pvc-gone")));
  EXPECT_FALSE(fs::exists(dir("pvc-gone")));
  EXPECT_FALSE(fs::exists(dir(".polycsi/volumes/pvc-gone.json")));
  EXPECT_EQ(entries(dir(".polycsi/staging")), 0u);
  cloneGate.release();
  activeGate_.store(nullptr);

  // The name is free again: a new snapshot of that name is a new, complete copy.
  auto fresh = pollUntilReady(b, snap);
  ASSERT_TRUE(fresh.isOk()) << fresh.status().toString();
  expectSameFiles("pvc-src", ".snapshots/s-snap-gone");
  EXPECT_EQ(copiesStarted(), 3);
}

TEST_F(NfsCopyDeadlineTest, ARestartRemovesTheHalfCopyAndTheRetryCopiesEverything) {
  auto& b = start();
  std::string source = makeSourceVolume(b, "pvc-restart");
  hold(gate_, "snapshot/", 4);
  CreateSnapshotRequest req;
  req.name = "snap-restart";
  req.sourceVolumeId = source;
  auto answer = cutAtDeadline(req, gate_, [&](auto& r) { return b.createSnapshot(r); });
  ASSERT_TRUE(answer.has_value()) << "the copy never got to its fourth entry";
  ASSERT_TRUE(answer->isOk());
  backend_.reset();  // the driver stops with the copy half done
  activeGate_.store(nullptr);
  ASSERT_EQ(entries(staging("s-snap-restart")), 4u);
  EXPECT_FALSE(fs::exists(dir(".snapshots/s-snap-restart")));

  auto& restarted = start();
  auto ready = pollUntilReady(restarted, req);
  ASSERT_TRUE(ready.isOk()) << ready.status().toString();
  EXPECT_TRUE(ready->readyToUse);
  expectSameFiles("pvc-restart", ".snapshots/s-snap-restart");
  EXPECT_FALSE(fs::exists(staging("s-snap-restart")));
  EXPECT_EQ(copiesStarted(), 2);
}

TEST_F(NfsCopyDeadlineTest, AFailedCopyIsRemovedAndTheNextCallStartsAgain) {
  auto& b = start();
  std::string source = makeSourceVolume(b, "pvc-fifo");
  ASSERT_EQ(::mkfifo(dir("pvc-fifo/zz-pipe").c_str(), 0600), 0);
  CreateSnapshotRequest req;
  req.name = "snap-fifo";
  req.sourceVolumeId = source;
  req.call.timeout = std::chrono::minutes(5);
  auto failed = b.createSnapshot(req);
  ASSERT_FALSE(failed.isOk());
  EXPECT_EQ(failed.status().code(), Code::kFailedPrecondition) << failed.status().toString();
  EXPECT_FALSE(fs::exists(staging("s-snap-fifo")));
  EXPECT_FALSE(fs::exists(dir(".snapshots/s-snap-fifo")));

  // Through NFS: ganesha caches directory entries, so a removal behind its back is not seen.
  NfsTarget target{{"127.0.0.1", GaneshaServer::share()},
                   4,
                   server_.nfsPort(),
                   std::nullopt,
                   std::chrono::seconds(5)};
  ASSERT_TRUE(NfsSession::connect(target, Call{})->removeFile("pvc-fifo/zz-pipe"));
  req.call = Call{};
  auto ready = pollUntilReady(b, req);
  ASSERT_TRUE(ready.isOk()) << ready.status().toString();
  expectSameFiles("pvc-fifo", ".snapshots/s-snap-fifo");
  EXPECT_EQ(copiesStarted(), 2);
}

}  // namespace
}  // namespace polycsi::nfs::testing
