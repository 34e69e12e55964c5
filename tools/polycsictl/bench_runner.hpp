// Runs one benchmark level: a scenario, N client threads, a fixed number of iterations shared
// among them, after a few unmeasured warm-up iterations.
//
// THREADING: runBenchLevel starts and joins its own threads; call it from one thread.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "bench_plan.hpp"
#include "bench_recorder.hpp"
#include "bench_scenarios.hpp"

namespace polycsi::csictl {

// A level stops early after this many failed iterations: a broken driver should not be
// hammered with the remaining thousands of calls, each waiting out its deadline.
inline constexpr int kMaxFailedIterationsPerLevel = 10;

// What one (scenario, concurrency) level measured.
struct LevelResult {
  BenchScenario scenario = BenchScenario::kProbe;
  int concurrency = 1;
  int iterations = 0;          // scenario runs that completed, successful or not
  int failed_iterations = 0;   // runs where a step failed
  bool stopped_early = false;  // kMaxFailedIterationsPerLevel reached
  double wall_seconds = 0;     // from the first thread's start to the last thread's end
  std::vector<StepSamples> steps;
};

// Runs `plan.warmup` unmeasured iterations on this thread, then `plan.iterations` measured
// ones on `concurrency` threads. Volume names are "<prefix>-<run_tag>-<letter><concurrency>-<n>"
// so levels and runs never collide. Progress lines go to `progress` when it is not null.
LevelResult runBenchLevel(const ScenarioRunner& runner, const BenchPlan& plan,
                          BenchScenario scenario, int concurrency, const std::string& run_tag,
                          std::ostream* progress);

}  // namespace polycsi::csictl
