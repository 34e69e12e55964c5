#include "bench_runner.hpp"

#include <atomic>
#include <chrono>
#include <latch>
#include <thread>

namespace polycsi::csictl {
namespace {

std::string volumeName(const BenchPlan& plan, const std::string& run_tag, BenchScenario scenario,
                       int concurrency, const std::string& serial) {
  static constexpr char kLetters[] = "abcd";
  return plan.name_prefix + "-" + run_tag + "-" + kLetters[static_cast<int>(scenario)] +
         std::to_string(concurrency) + "-" + serial;
}

}  // namespace

LevelResult runBenchLevel(const ScenarioRunner& runner, const BenchPlan& plan,
                          BenchScenario scenario, int concurrency, const std::string& run_tag,
                          std::ostream* progress) {
  LevelResult result;
  result.scenario = scenario;
  result.concurrency = concurrency;
  if (progress != nullptr) {
    *progress << "bench: " << benchScenarioName(scenario) << " at concurrency " << concurrency
              << ": " << plan.warmup << " warm-up + " << plan.iterations << " iterations\n";
  }

  // Warm-up: connections, caches and lazily created driver state, outside the measurement.
  for (int i = 0; i < plan.warmup; ++i) {
    CallRecorder discarded;
    runner.runOnce(scenario,
                   volumeName(plan, run_tag, scenario, concurrency, "w" + std::to_string(i)),
                   discarded);
  }

  std::atomic<int> next{0};
  std::atomic<int> failed{0};
  std::vector<CallRecorder> recorders(static_cast<std::size_t>(concurrency));
  std::latch ready(concurrency + 1);
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(concurrency));
  for (int w = 0; w < concurrency; ++w) {
    workers.emplace_back([&, w] {
      ready.arrive_and_wait();
      CallRecorder& recorder = recorders[static_cast<std::size_t>(w)];
      while (failed.load() < kMaxFailedIterationsPerLevel) {
        const int iteration = next.fetch_add(1);
        if (iteration >= plan.iterations) break;
        const std::string name =
            volumeName(plan, run_tag, scenario, concurrency, std::to_string(iteration));
        if (!runner.runOnce(scenario, name, recorder)) failed.fetch_add(1);
      }
    });
  }
  ready.arrive_and_wait();
  const auto start = std::chrono::steady_clock::now();
  for (std::thread& worker : workers) worker.join();
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;

  CallRecorder merged;
  for (const CallRecorder& recorder : recorders) merged.merge(recorder);
  result.steps = merged.steps();
  result.failed_iterations = failed.load();
  result.iterations = std::min(next.load(), plan.iterations);
  result.stopped_early = result.failed_iterations >= kMaxFailedIterationsPerLevel &&
                         result.iterations < plan.iterations;
  result.wall_seconds = wall.count();
  return result;
}

}  // namespace polycsi::csictl
