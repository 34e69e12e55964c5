#include "bench_report.hpp"

#include <cstdio>

#include "bench_statistics.hpp"
#include "output.hpp"

namespace polycsi::csictl {
namespace {

double perSecond(std::size_t count, double seconds) {
  return seconds > 0 ? static_cast<double>(count) / seconds : 0.0;
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.*f", decimals, value);
  return text;
}

}  // namespace

std::optional<double> probeP50(const BenchReport& report, int concurrency) {
  for (const LevelResult& level : report.levels) {
    if (level.scenario != BenchScenario::kProbe || level.concurrency != concurrency) continue;
    for (const StepSamples& step : level.steps) {
      if (step.step == "Probe" && !step.latencies_ms.empty()) {
        return summarizeLatencies(step.latencies_ms).p50;
      }
    }
  }
  return std::nullopt;
}

nlohmann::ordered_json benchReportJson(const BenchReport& report) {
  nlohmann::ordered_json json;
  json["tool"] = "polycsictl bench";
  json["endpoint"] = report.endpoint;
  json["controller_endpoint"] = report.controller_endpoint;
  json["started_at"] = report.started_at;
  json["driver"] = {{"name", report.driver.name},
                    {"version", report.driver.version},
                    {"node_id", report.driver.node_id},
                    {"controller_publish", report.driver.controller_publish},
                    {"node_stage", report.driver.node_stage}};
  nlohmann::ordered_json scenarios = nlohmann::ordered_json::array();
  for (const BenchScenario scenario : report.plan.scenarios) {
    scenarios.push_back(std::string(benchScenarioName(scenario)));
  }
  json["settings"] = {{"scenarios", scenarios},
                      {"concurrency", report.plan.concurrency},
                      {"iterations", report.plan.iterations},
                      {"warmup", report.plan.warmup},
                      {"volume_bytes", report.plan.size_bytes},
                      {"block", report.plan.block},
                      {"fs_type", report.plan.fs_type},
                      {"parameters", report.plan.parameters},
                      {"peer_node_id", report.plan.peer_node_id}};
  nlohmann::ordered_json levels = nlohmann::ordered_json::array();
  for (const LevelResult& level : report.levels) {
    const std::optional<double> probe = probeP50(report, level.concurrency);
    nlohmann::ordered_json rpcs = nlohmann::ordered_json::array();
    for (const StepSamples& step : level.steps) {
      const LatencySummary summary = summarizeLatencies(step.latencies_ms);
      nlohmann::ordered_json rpc;
      rpc["rpc"] = step.step;
      rpc["calls"] = summary.count;
      rpc["errors"] = step.errors;
      rpc["first_error"] = step.first_error;
      rpc["calls_per_second"] = perSecond(summary.count, level.wall_seconds);
      rpc["latency_ms"] = {{"p50", summary.p50},
                           {"p90", summary.p90},
                           {"p99", summary.p99},
                           {"max", summary.max},
                           {"mean", summary.mean}};
      if (probe && *probe > 0 && summary.count > 0) {
        rpc["p50_over_probe_p50"] = summary.p50 / *probe;
      } else {
        rpc["p50_over_probe_p50"] = nullptr;
      }
      rpcs.push_back(std::move(rpc));
    }
    nlohmann::ordered_json entry;
    entry["scenario"] = std::string(benchScenarioName(level.scenario));
    entry["concurrency"] = level.concurrency;
    entry["iterations"] = level.iterations;
    entry["failed_iterations"] = level.failed_iterations;
    entry["stopped_early"] = level.stopped_early;
    entry["wall_seconds"] = level.wall_seconds;
    entry["iterations_per_second"] = perSecond(
        static_cast<std::size_t>(level.iterations - level.failed_iterations), level.wall_seconds);
    entry["rpcs"] = std::move(rpcs);
    levels.push_back(std::move(entry));
  }
  json["levels"] = std::move(levels);
  return json;
}

void printBenchTable(const BenchReport& report, std::ostream& out) {
  out << "driver " << report.driver.name << " " << report.driver.version << " at "
      << report.endpoint;
  if (report.controller_endpoint != report.endpoint) {
    out << " (controller " << report.controller_endpoint << ")";
  }
  out << "; latencies in ms; xPROBE = p50 / Probe p50 at the same concurrency\n";
  TextTable table({"SCENARIO", "CONC", "RPC", "CALLS", "ERRORS", "CALLS/S", "P50", "P90", "P99",
                   "MAX", "xPROBE"});
  std::vector<std::string> failures;
  for (const LevelResult& level : report.levels) {
    const std::optional<double> probe = probeP50(report, level.concurrency);
    for (const StepSamples& step : level.steps) {
      const LatencySummary summary = summarizeLatencies(step.latencies_ms);
      const bool measured = summary.count > 0;
      table.addRow({std::string(benchScenarioName(level.scenario)),
                    std::to_string(level.concurrency), step.step, std::to_string(summary.count),
                    std::to_string(step.errors),
                    fixed(perSecond(summary.count, level.wall_seconds), 1),
                    measured ? fixed(summary.p50, 3) : "-", measured ? fixed(summary.p90, 3) : "-",
                    measured ? fixed(summary.p99, 3) : "-", measured ? fixed(summary.max, 3) : "-",
                    measured && probe && *probe > 0 ? fixed(summary.p50 / *probe, 2) : "-"});
      if (step.errors > 0) {
        failures.push_back(std::string(benchScenarioName(level.scenario)) + " at concurrency " +
                           std::to_string(level.concurrency) + ": " + step.step + " failed " +
                           std::to_string(step.errors) + "x, first: " + step.first_error);
      }
    }
    if (level.stopped_early) {
      failures.push_back(std::string(benchScenarioName(level.scenario)) + " at concurrency " +
                         std::to_string(level.concurrency) + " stopped after " +
                         std::to_string(level.failed_iterations) + " failed iterations");
    }
  }
  table.print(out);
  for (const std::string& failure : failures) out << "error: " << failure << '\n';
}

bool benchHadErrors(const BenchReport& report) {
  for (const LevelResult& level : report.levels) {
    if (level.failed_iterations > 0) return true;
    for (const StepSamples& step : level.steps) {
      if (step.errors > 0) return true;
    }
  }
  return false;
}

}  // namespace polycsi::csictl
