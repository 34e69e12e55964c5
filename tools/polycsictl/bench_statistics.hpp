// Latency statistics for `polycsictl bench`: percentiles of one RPC's measured round trips.
// Pure functions: no state, thread-safe.
#pragma once

#include <cstddef>
#include <vector>

namespace polycsi::csictl {

// Summary of a set of latencies, in milliseconds. All zero for an empty set.
struct LatencySummary {
  std::size_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p99 = 0;
  double max = 0;
};

// The q-quantile (0 < q <= 1) of `sorted` (ascending) by the nearest-rank method: the
// smallest sample such that at least q of all samples are at or below it, so every reported
// percentile is a latency that was actually measured. Throws std::invalid_argument for an
// empty set or q outside (0, 1].
double nearestRankPercentile(const std::vector<double>& sorted, double q);

// Sorts a copy of `samples` and summarises it.
LatencySummary summarizeLatencies(std::vector<double> samples);

}  // namespace polycsi::csictl
