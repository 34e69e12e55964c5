// Soak: many concurrent volume lifecycles and KubeVirt live migrations through one controller
// against rds-sim while a fault thread keeps re-arming random faults (failed commands, dropped
// connections, lost replies, hung commands, slow commands, a full pool). Workers retry as the
// orchestrator does. Afterwards every invariant holds: each operation converged; no RWX block
// volume was ever published to a third node nor an RWO volume to a second; each migrated
// volume is attached to its target only, on the controller and in the export's allow-list; and
// the RDS holds exactly the disks that should exist, with no stray image file.
//
// Built twice from this file: SOAK_VOLUMES / SOAK_MIGRATIONS small in the default suite, large
// behind the ctest label `soak`. The figures (operations, faults injected, failures by gRPC
// code) are printed for docs/reliability.md.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "rds_driver_harness.hpp"

#ifndef SOAK_VOLUMES
#error "SOAK_VOLUMES (create/delete lifecycles) must be defined by the build"
#endif
#ifndef SOAK_MIGRATIONS
#error "SOAK_MIGRATIONS (concurrent live migrations) must be defined by the build"
#endif
#ifndef SOAK_WORKERS
#error \
    "SOAK_WORKERS (orchestrator threads, so calls in flight at once) must be defined by the build"
#endif

namespace polycsi::reliability {
namespace {

using grpc::StatusCode;
using testing::RdsSimProcess;
using testing::TempDir;

constexpr int kVolumes = SOAK_VOLUMES;
constexpr int kMigrations = SOAK_MIGRATIONS;
constexpr int kWorkers = SOAK_WORKERS;
constexpr int kNodes = 6;

// Codes a retry may cure: the fault, not the request, was wrong.
bool transient(StatusCode code) {
  return code == StatusCode::UNAVAILABLE || code == StatusCode::DEADLINE_EXCEEDED ||
         code == StatusCode::INTERNAL || code == StatusCode::ABORTED ||
         code == StatusCode::RESOURCE_EXHAUSTED || code == StatusCode::FAILED_PRECONDITION;
}

// How many of something run at once, and the most that ever did.
class InFlight {
 public:
  class Scope {
   public:
    explicit Scope(InFlight& counter) : counter_(counter) {
      const int now = ++counter_.now_;
      int peak = counter_.peak_.load();
      while (now > peak && !counter_.peak_.compare_exchange_weak(peak, now)) {
      }
    }
    ~Scope() { --counter_.now_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    InFlight& counter_;
  };
  int peak() const { return peak_.load(); }

 private:
  std::atomic<int> now_{0};
  std::atomic<int> peak_{0};
};

class RdsSoakTestFixture : public RdsHarnessTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(startSim());
    harness_->startDriver("      command_timeout_seconds: 2\n      pool_size: 4\n");
  }
  void TearDown() override { stopAll(/*driverLogTail=*/20000, /*withSimLog=*/false); }

  void failure(const std::string& what) {
    std::lock_guard lock(mu_);
    failures_.push_back(what);
  }
  bool converge(const std::function<grpc::Status()>& rpc, const std::string& what) {
    grpc::Status s = harness_->untilOk(rpc, 80);
    if (!s.ok()) failure(what + ": " + codeName(s.error_code()) + " " + s.error_message());
    return s.ok();
  }
  // Retries transient failures; the final answer must be FAILED_PRECONDITION, never OK.
  void expectRefused(const std::function<grpc::Status()>& rpc, const std::string& what) {
    grpc::Status s;
    for (int attempt = 0; attempt < 80; ++attempt) {
      s = rpc();
      if (s.ok()) {
        ++breaches_;
        failure(what + " was granted");
        return;
      }
      if (s.error_code() == StatusCode::FAILED_PRECONDITION &&
          (s.error_message().find("already attached") != std::string::npos))
        return;
      if (!transient(s.error_code())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    failure(what + ": " + codeName(s.error_code()) + " " + s.error_message());
  }

  // One volume's life: create, (every 10th: an RWO publish, a refused second node, unpublish),
  // delete, except every 10th volume, which must survive the soak.
  void lifecycle(int i) {
    const std::string name = volumeName(0x50a4, static_cast<unsigned>(i));
    csi::v1::Volume v;
    if (!converge(
            [&] {
              return harness_->create(name, testing::blockCapability(Mode::SINGLE_NODE_WRITER), {},
                                      &v);
            },
            "create " + name))
      return;
    ++operations_;
    if (i % 10 == 3) {
      const TestNode a = testNode(i % kNodes), b = testNode((i + 1) % kNodes);
      if (!converge([&] { return harness_->publish(v, a, Mode::SINGLE_NODE_WRITER); },
                    "publish RWO " + name))
        return;
      expectRefused([&] { return harness_->publish(v, b, Mode::SINGLE_NODE_WRITER); },
                    "RWO " + name + " on a second node");
      if (!converge([&] { return harness_->unpublish(v, a); }, "unpublish RWO " + name)) return;
      operations_ += 3;
    }
    if (i % 10 == 0) {
      std::lock_guard lock(mu_);
      kept_.insert(name);
      return;
    }
    if (converge([&] { return harness_->deleteVolume(v.volume_id()); }, "delete " + name))
      ++operations_;
  }

  // One live migration A -> B with a refused third node; ends attached to B.
  void migration(int i) {
    const std::string name = volumeName(0x3164, static_cast<unsigned>(i));
    const TestNode a = testNode(i % kNodes), b = testNode((i + 1) % kNodes),
                   c = testNode((i + 2) % kNodes);
    csi::v1::Volume v;
    if (!converge(
            [&] {
              return harness_->create(name, testing::blockCapability(Mode::MULTI_NODE_MULTI_WRITER),
                                      {{"migrationTimeoutSeconds", "3600"}}, &v);
            },
            "create VM disk " + name))
      return;
    if (!converge([&] { return harness_->publish(v, a, Mode::MULTI_NODE_MULTI_WRITER); },
                  "publish source " + name))
      return;
    if (!converge([&] { return harness_->publish(v, b, Mode::MULTI_NODE_MULTI_WRITER); },
                  "publish target " + name))
      return;
    std::vector<std::string> published;
    if (converge([&] { return harness_->publishedNodes(v.volume_id(), &published); },
                 "get " + name)) {
      std::vector<std::string> both{a.id(), b.id()};
      std::sort(both.begin(), both.end());
      if (published != both) failure(name + " during its migration is not on exactly A and B");
    }
    expectRefused([&] { return harness_->publish(v, c, Mode::MULTI_NODE_MULTI_WRITER); },
                  "VM disk " + name + " on a third node");
    if (!converge([&] { return harness_->unpublish(v, a); }, "unpublish source " + name)) return;
    operations_ += 5;
    std::lock_guard lock(mu_);
    migrated_.push_back({v, b});
  }

  // Re-arms a random fault every 20–60 ms until `stop`. Returns the number of armings.
  int injectFaults(const std::atomic<bool>& stop) {
    std::mt19937 random(20261123);
    int armed = 0;
    while (!stop.load()) {
      std::string fault;
      switch (random() % 7) {
        case 0:
          fault = "fail-next=yes";
          break;
        case 1:
          fault = "drop-after=" + std::to_string(1 + random() % 6);
          break;
        case 2:
          fault = "drop-reply-after=" + std::to_string(1 + random() % 6);
          break;
        case 3:
          fault = "hold-after=" + std::to_string(1 + random() % 6);
          break;
        case 4:
          fault = "delay-ms=" + std::to_string(5 + random() % 40);
          break;
        case 5:
          fault = "disk-full=yes";
          break;
        default:
          fault = "fail-next=yes drop-reply-after=" + std::to_string(2 + random() % 4);
      }
      try {
        sim_->fault("reset " + fault);
        ++armed;
      } catch (const std::exception& e) {
        failure(std::string("arming a fault: ") + e.what());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + random() % 41));
    }
    sim_->fault("reset");
    return armed;
  }

  std::mutex mu_;
  std::vector<std::string> failures_;
  std::set<std::string> kept_;
  std::vector<std::pair<csi::v1::Volume, TestNode>> migrated_;
  std::atomic<int> operations_{0};
  std::atomic<int> breaches_{0};
};

// The full sweep is a separate ctest suite name, so both builds of this file can be registered.
#ifdef RELIABILITY_FULL_SWEEP
using RdsSoakFull = RdsSoakTestFixture;
#define RELIABILITY_SUITE RdsSoakFull
#else
using RdsSoakSmall = RdsSoakTestFixture;
#define RELIABILITY_SUITE RdsSoakSmall
#endif

TEST_F(RELIABILITY_SUITE, ConcurrentLifecyclesAndMigrationsUnderFaults) {
  const auto started = std::chrono::steady_clock::now();
  std::atomic<bool> stopFaults{false};
  int armings = 0;
  std::thread faults([&] { armings = injectFaults(stopFaults); });

  // Work items, taken by kWorkers threads: the migrations first, so that with at least as many
  // workers as migrations they all run at once, then the lifecycles, which fill each worker as
  // its migration ends and so run beside the slower migrations.
  std::atomic<int> next{0};
  const int total = kVolumes + kMigrations;
  InFlight migrating, working;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w)
    workers.emplace_back([&] {
      for (int item = next++; item < total; item = next++) {
        InFlight::Scope busy(working);
        if (item < kMigrations) {
          InFlight::Scope migrationBusy(migrating);
          migration(item);
        } else {
          lifecycle(item - kMigrations);
        }
      }
    });
  for (auto& t : workers) t.join();
  stopFaults = true;
  faults.join();
  const auto loaded = std::chrono::steady_clock::now();

  for (const auto& f : failures_) ADD_FAILURE() << f;
  EXPECT_EQ(breaches_.load(), 0) << "an attachment limit was broken";
  EXPECT_EQ(harness_->tally().gaveUp(), 0);

  // Faults off: every migrated volume is on its target only, on both sides of the fence.
  EXPECT_EQ(static_cast<int>(migrated_.size()), kMigrations);
  for (const auto& [volume, target] : migrated_)
    expectHeldBy(*harness_, *sim_, volume, {target}, "migrated " + volume.volume_id());
  // The RDS holds exactly the kept volumes and the migrated VM disks.
  std::set<std::string> expected = kept_;
  for (const auto& [volume, target] : migrated_) expected.insert(slotOf(volume.volume_id()));
  EXPECT_EQ(volumeSlots(*sim_), expected);
  std::set<std::string> expectedFiles;
  for (const auto& slot : expected)
    expectedFiles.insert("storage-pool/kubernetes-volumes/" + slot + ".img");
  EXPECT_EQ(imageFiles(*sim_), expectedFiles);
  // The controller lists the same volumes.
  std::set<std::string> listed;
  std::string token;
  for (int page = 0; page < 100; ++page) {
    csi::v1::ListVolumesRequest req;
    req.set_max_entries(500);
    req.set_starting_token(token);
    csi::v1::ListVolumesResponse resp;
    auto ctx = testing::rpcContext(60);
    grpc::Status s = harness_->driver().controller().ListVolumes(ctx.get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    for (const auto& e : resp.entries())
      EXPECT_TRUE(listed.insert(slotOf(e.volume().volume_id())).second)
          << "ListVolumes lists " << e.volume().volume_id() << " twice (page " << page << ")";
    token = resp.next_token();
    if (token.empty()) break;
  }
  EXPECT_EQ(listed.size(), expected.size());
  for (const auto& slot : expected)
    EXPECT_TRUE(listed.count(slot)) << "ListVolumes misses " << slot;
  for (const auto& slot : listed)
    EXPECT_TRUE(expected.count(slot)) << "ListVolumes lists " << slot << ", which should not exist";

  // Clean up through the driver: the migrated disks detach and every disk goes.
  // Named copies, not structured bindings: clang 14 cannot capture those in a lambda.
  for (const auto& migration : migrated_) {
    const csi::v1::Volume& volume = migration.first;
    const TestNode& target = migration.second;
    EXPECT_TRUE(harness_->untilOk([&] { return harness_->unpublish(volume, target); }).ok());
    EXPECT_EQ(allowedHosts(*sim_, slotOf(volume.volume_id())),
              std::vector<std::string>{kFencedPlaceholder});
    EXPECT_TRUE(harness_->untilOk([&] { return harness_->deleteVolume(volume.volume_id()); }).ok());
  }
  for (const auto& slot : kept_)
    EXPECT_TRUE(harness_->untilOk([&] { return harness_->deleteVolume("rds:" + slot); }).ok());
  EXPECT_TRUE(volumeSlots(*sim_).empty());
  EXPECT_TRUE(imageFiles(*sim_).empty());

  const auto seconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(loaded - started).count() / 1000.0;
  std::cout << "soak: " << kVolumes << " create/delete lifecycles and " << kMigrations
            << " live migrations by " << kWorkers << " workers in " << seconds << " s\n"
            << "  most in flight at once: " << migrating.peak() << " migrations, " << working.peak()
            << " operations\n"
            << "  operations converged under faults: " << operations_.load() << "\n"
            << "  fault armings: " << armings << "; faults injected:";
  for (const auto& [kind, count] : faultsInjected(*sim_)) std::cout << ' ' << kind << '=' << count;
  std::cout << "\n  " << harness_->tally().summary() << "\n";
}

}  // namespace
}  // namespace polycsi::reliability
