// The `polycsictl bench` report: JSON for scripts and plots, a text table for people. Every
// step's latency is also given as a ratio to the Probe round trip measured at the same
// concurrency in the same run, because absolute figures on a shared machine mean little.
// Pure functions: thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "bench_plan.hpp"
#include "bench_runner.hpp"
#include "bench_scenarios.hpp"

namespace polycsi::csictl {

struct BenchReport {
  std::string endpoint;
  std::string controller_endpoint;  // same as endpoint when not given separately
  std::string started_at;           // RFC 3339 UTC
  DriverFacts driver;
  BenchPlan plan;
  std::vector<LevelResult> levels;
};

// p50 of Probe at `concurrency` in `report`, when the probe scenario ran at that level and
// at least one probe succeeded.
std::optional<double> probeP50(const BenchReport& report, int concurrency);

// {"tool", "endpoint", "controller_endpoint", "started_at", "driver": {name, version, node_id,
// controller_publish, node_stage}, "settings": {...}, "levels": [{"scenario", "concurrency",
// "iterations", "failed_iterations", "stopped_early", "wall_seconds", "iterations_per_second",
// "rpcs": [{"rpc", "calls", "errors", "first_error", "calls_per_second", "latency_ms":
// {"p50", "p90", "p99", "max", "mean"}, "p50_over_probe_p50"}]}]}. Latencies are
// milliseconds; p50_over_probe_p50 is null when no probe ran at that concurrency.
nlohmann::ordered_json benchReportJson(const BenchReport& report);

// One row per (scenario, concurrency, rpc): calls, errors, calls/s, p50/p90/p99/max in ms and
// p50 as a multiple of the Probe p50; then the first error of each failing step.
void printBenchTable(const BenchReport& report, std::ostream& out);

// True when any call of the run failed.
bool benchHadErrors(const BenchReport& report);

}  // namespace polycsi::csictl
