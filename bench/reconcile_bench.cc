// One VolumeAttachment reconciliation pass (core/kube) against a local fake Kubernetes API
// (tests/support/kube) holding N VolumeAttachments of the driver and their PersistentVolumes:
//   steady:  the attachment manager already holds every attachment (the periodic pass);
//   rebuild: the attachment store was lost and every attachment is replayed.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "attach/attachment_manager.hpp"
#include "attach/attachment_store.hpp"
#include "fake_kube_api.hpp"
#include "kube/kube_client.hpp"
#include "kube/volume_attachment_reconciler.hpp"

namespace {

using namespace std::chrono_literals;
using polycsi::kube::testing::FakeKubeApi;

constexpr const char* kToken = "bench-token";
constexpr const char* kDriver = "polycsi.csi.io";
constexpr int kNodes = 8;

polycsi::attach::VolumePolicy exclusive() {
  polycsi::attach::VolumePolicy policy;
  policy.semantics = polycsi::AttachSemantics::kExclusive;
  return policy;
}

std::string nodeOf(int i) { return "node-" + std::to_string(i % kNodes); }
std::string handleOf(int i) { return "local:vol-" + std::to_string(i); }

// A cluster of `volumes` attached volumes, served by a fake API on loopback.
struct Cluster {
  explicit Cluster(int volumes) : api(kToken) {
    std::vector<nlohmann::json> attachments;
    for (int i = 0; i < volumes; ++i) {
      const std::string pv = "pv-" + std::to_string(i);
      api.setPersistentVolume(
          pv, polycsi::kube::testing::csiPersistentVolume(pv, kDriver, handleOf(i)));
      attachments.push_back(polycsi::kube::testing::volumeAttachment(
          "csi-" + std::to_string(i), kDriver, pv, nodeOf(i), true, "2026-01-01T00:00:00Z"));
    }
    api.setVolumeAttachments(std::move(attachments));
    for (int n = 0; n < kNodes; ++n) api.setCsiNode(nodeOf(n), kDriver, nodeOf(n));
  }
  FakeKubeApi api;
};

// A driver's side: attachment store (SQLite in a private directory), manager, client and
// reconciler.
struct Controller {
  explicit Controller(const FakeKubeApi& api) {
    char pattern[] = "/tmp/polycsi-bench-reconcile.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = pattern;
    auto opened = polycsi::attach::AttachmentStore::open((dir / "attachments.db").string());
    if (!opened.isOk()) throw std::runtime_error(opened.status().toString());
    store = std::move(*opened);
    manager = polycsi::attach::AttachmentManager::create(*store, observer).value();
    polycsi::kube::KubeConfig config;
    config.baseUrl = api.baseUrl();
    config.token = kToken;
    config.timeout = 30000ms;
    client = polycsi::kube::KubeClient::create(config).value();
    reconciler = polycsi::kube::VolumeAttachmentReconciler::create(
                     *client, *manager, kDriver,
                     [](const std::string&,
                        const nlohmann::json&) -> polycsi::StatusOr<polycsi::kube::ResolvedVolume> {
                       polycsi::kube::ResolvedVolume volume;
                       volume.policy = exclusive();
                       volume.backend = "local";
                       volume.metricsPrefix = "sample_csi";
                       return volume;
                     })
                     .value();
  }
  ~Controller() {
    reconciler.reset();
    manager.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  std::filesystem::path dir;
  polycsi::attach::NullMigrationObserver observer;
  std::unique_ptr<polycsi::attach::AttachmentStore> store;
  std::unique_ptr<polycsi::attach::AttachmentManager> manager;
  std::unique_ptr<polycsi::kube::KubeClient> client;
  std::unique_ptr<polycsi::kube::VolumeAttachmentReconciler> reconciler;
};

void BM_ReconcileSteady(benchmark::State& state) {
  const int volumes = static_cast<int>(state.range(0));
  Cluster cluster(volumes);
  Controller controller(cluster.api);
  for (int i = 0; i < volumes; ++i) {
    auto plan = controller.manager->planPublish(handleOf(i), nodeOf(i), exclusive(), "local",
                                                "sample_csi", {});
    if (!plan.isOk() || !controller.manager->commitPublish(*plan).isOk()) {
      state.SkipWithError("cannot prepare the attachments");
      return;
    }
  }
  for (auto _ : state) {
    const polycsi::Status status = controller.reconciler->reconcileOnce();
    if (!status.isOk() || controller.manager->all().size() != static_cast<size_t>(volumes)) {
      state.SkipWithError(("reconciliation failed: " + status.toString()).c_str());
      break;
    }
  }
  state.counters["volumes"] = volumes;
}
BENCHMARK(BM_ReconcileSteady)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

void BM_ReconcileRebuild(benchmark::State& state) {
  const int volumes = static_cast<int>(state.range(0));
  Cluster cluster(volumes);
  for (auto _ : state) {
    state.PauseTiming();
    auto controller = std::make_unique<Controller>(cluster.api);
    state.ResumeTiming();
    const polycsi::Status status = controller->reconciler->reconcileOnce();
    state.PauseTiming();
    const bool rebuilt = controller->manager->all().size() == static_cast<size_t>(volumes);
    controller.reset();
    state.ResumeTiming();
    if (!status.isOk() || !rebuilt) {
      state.SkipWithError(("rebuild failed: " + status.toString()).c_str());
      break;
    }
  }
  state.counters["volumes"] = volumes;
}
BENCHMARK(BM_ReconcileRebuild)
    ->Arg(1000)
    ->Arg(10000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
