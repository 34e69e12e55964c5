#include "bench_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace polycsi::csictl {

double nearestRankPercentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw std::invalid_argument("a percentile of no samples is undefined");
  if (!(q > 0.0 && q <= 1.0)) {
    throw std::invalid_argument("percentile fraction must be in (0, 1], got " + std::to_string(q));
  }
  // Rank ceil(q * n), 1-based. The small epsilon keeps q * n that is a whole number in exact
  // arithmetic (0.9 * 10) from rounding up because of binary floating point.
  const double exact = q * static_cast<double>(sorted.size());
  std::size_t rank = static_cast<std::size_t>(std::ceil(exact - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

LatencySummary summarizeLatencies(std::vector<double> samples) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  summary.count = samples.size();
  summary.mean =
      std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
  summary.p50 = nearestRankPercentile(samples, 0.50);
  summary.p90 = nearestRankPercentile(samples, 0.90);
  summary.p99 = nearestRankPercentile(samples, 0.99);
  summary.max = samples.back();
  return summary;
}

}  // namespace polycsi::csictl
