#include "bench_statistics.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <stdexcept>
#include <vector>

namespace polycsi::csictl {
namespace {

std::vector<double> oneToN(int n) {
  std::vector<double> values(static_cast<std::size_t>(n));
  std::iota(values.begin(), values.end(), 1.0);
  return values;
}

TEST(NearestRankPercentile, PicksTheSmallestSampleCoveringTheFraction) {
  const std::vector<double> hundred = oneToN(100);
  EXPECT_EQ(nearestRankPercentile(hundred, 0.50), 50);
  EXPECT_EQ(nearestRankPercentile(hundred, 0.90), 90);
  EXPECT_EQ(nearestRankPercentile(hundred, 0.99), 99);
  EXPECT_EQ(nearestRankPercentile(hundred, 1.0), 100);
  EXPECT_EQ(nearestRankPercentile(hundred, 0.001), 1);
}

TEST(NearestRankPercentile, RoundsTheRankUpOnSmallSets) {
  const std::vector<double> ten = oneToN(10);
  EXPECT_EQ(nearestRankPercentile(ten, 0.50), 5);
  EXPECT_EQ(nearestRankPercentile(ten, 0.90), 9) << "0.9 * 10 is exactly rank 9";
  EXPECT_EQ(nearestRankPercentile(ten, 0.99), 10);
  const std::vector<double> three = {1.5, 2.5, 9.0};
  EXPECT_EQ(nearestRankPercentile(three, 0.50), 2.5);  // rank ceil(1.5) = 2
  EXPECT_EQ(nearestRankPercentile({7.0}, 0.99), 7.0);
}

TEST(NearestRankPercentile, RefusesEmptySetsAndBadFractions) {
  EXPECT_THROW(nearestRankPercentile({}, 0.5), std::invalid_argument);
  EXPECT_THROW(nearestRankPercentile({1.0}, 0.0), std::invalid_argument);
  EXPECT_THROW(nearestRankPercentile({1.0}, 1.5), std::invalid_argument);
  EXPECT_THROW(nearestRankPercentile({1.0}, -0.1), std::invalid_argument);
}

TEST(SummarizeLatencies, SortsAndSummarisesUnorderedSamples) {
  std::vector<double> samples = oneToN(1000);
  std::reverse(samples.begin(), samples.end());
  const LatencySummary summary = summarizeLatencies(samples);
  EXPECT_EQ(summary.count, 1000u);
  EXPECT_EQ(summary.p50, 500);
  EXPECT_EQ(summary.p90, 900);
  EXPECT_EQ(summary.p99, 990);
  EXPECT_EQ(summary.max, 1000);
  EXPECT_DOUBLE_EQ(summary.mean, 500.5);
}

TEST(SummarizeLatencies, OneSlowOutlierShowsInTheTailOnly) {
  std::vector<double> samples(99, 1.0);
  samples.push_back(250.0);
  const LatencySummary summary = summarizeLatencies(samples);
  EXPECT_EQ(summary.p50, 1.0);
  EXPECT_EQ(summary.p99, 1.0);
  EXPECT_EQ(summary.max, 250.0);
}

TEST(SummarizeLatencies, EmptySetIsAllZero) {
  const LatencySummary summary = summarizeLatencies({});
  EXPECT_EQ(summary.count, 0u);
  EXPECT_EQ(summary.p50, 0);
  EXPECT_EQ(summary.max, 0);
}

}  // namespace
}  // namespace polycsi::csictl
