#include "bench_plan.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

using S = BenchScenario;

// Expects buildBenchPlan(flags) to throw std::invalid_argument mentioning `needle`.
void expectRefused(const BenchFlags& flags, const std::string& needle) {
  try {
    buildBenchPlan(flags);
    ADD_FAILURE() << "accepted; expected an error mentioning " << needle;
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find(needle), std::string::npos) << error.what();
  }
}

TEST(ParseBenchScenarios, AcceptsNamesAndLettersInCanonicalOrder) {
  EXPECT_EQ(parseBenchScenarios("probe,create-delete,lifecycle,migration"),
            (std::vector<S>{S::kProbe, S::kCreateDelete, S::kLifecycle, S::kMigration}));
  EXPECT_EQ(parseBenchScenarios("d,a"), (std::vector<S>{S::kProbe, S::kMigration}));
  EXPECT_EQ(parseBenchScenarios("lifecycle"), (std::vector<S>{S::kLifecycle}));
}

TEST(ParseBenchScenarios, RefusesUnknownEmptyAndRepeatedNames) {
  EXPECT_THROW(parseBenchScenarios(""), std::invalid_argument);
  EXPECT_THROW(parseBenchScenarios("probe,"), std::invalid_argument);
  EXPECT_THROW(parseBenchScenarios("e"), std::invalid_argument);
  EXPECT_THROW(parseBenchScenarios("Probe"), std::invalid_argument);
  EXPECT_THROW(parseBenchScenarios("a,probe"), std::invalid_argument);
}

TEST(ParseConcurrencyLevels, KeepsTheGivenOrder) {
  EXPECT_EQ(parseConcurrencyLevels("1,8,64"), (std::vector<int>{1, 8, 64}));
  EXPECT_EQ(parseConcurrencyLevels("16"), (std::vector<int>{16}));
  EXPECT_EQ(parseConcurrencyLevels("1024"), (std::vector<int>{1024}));
}

TEST(ParseConcurrencyLevels, RefusesZeroNegativeHugeRepeatedAndJunk) {
  for (const char* bad : {"", "0", "-1", "1025", "99999", "1,,8", "8,8", "x", "1.5", " 1"}) {
    EXPECT_THROW(parseConcurrencyLevels(bad), std::invalid_argument) << bad;
  }
}

TEST(BuildBenchPlan, DefaultsRunEveryScenarioAtOneEightAndSixtyFour) {
  const BenchPlan plan = buildBenchPlan(BenchFlags());
  EXPECT_EQ(plan.scenarios.size(), 4u);
  EXPECT_EQ(plan.concurrency, (std::vector<int>{1, 8, 64}));
  EXPECT_EQ(plan.size_bytes, 64 << 20);
  EXPECT_TRUE(plan.runs(S::kMigration));
  EXPECT_FALSE(plan.block);
}

TEST(BuildBenchPlan, CarriesParametersAndSizes) {
  BenchFlags flags;
  flags.parameters = {"backend=fast", "migrationTimeoutSeconds=60"};
  flags.size = "1Gi";
  flags.block = true;
  flags.scenarios = "b";
  const BenchPlan plan = buildBenchPlan(flags);
  EXPECT_EQ(plan.parameters.at("backend"), "fast");
  EXPECT_EQ(plan.parameters.at("migrationTimeoutSeconds"), "60");
  EXPECT_EQ(plan.size_bytes, int64_t{1} << 30);
  EXPECT_TRUE(plan.block);
  EXPECT_FALSE(plan.runs(S::kProbe));
}

TEST(BuildBenchPlan, NamesTheFlagThatIsWrong) {
  BenchFlags flags;
  flags.iterations = 0;
  expectRefused(flags, "--iterations");
  flags = BenchFlags();
  flags.iterations = kMaxBenchIterations + 1;
  expectRefused(flags, "--iterations");
  flags = BenchFlags();
  flags.warmup = -1;
  expectRefused(flags, "--warmup");
  flags = BenchFlags();
  flags.size = "lots";
  expectRefused(flags, "--size");
  flags = BenchFlags();
  flags.size = "0";
  expectRefused(flags, "--size");
  flags = BenchFlags();
  flags.parameters = {"novalue"};
  expectRefused(flags, "--param");
  flags = BenchFlags();
  flags.parameters = {"a=1", "a=2"};
  expectRefused(flags, "--param");
  flags = BenchFlags();
  flags.concurrency = "0";
  expectRefused(flags, "--concurrency");
  flags = BenchFlags();
  flags.scenarios = "everything";
  expectRefused(flags, "--scenarios");
}

TEST(BuildBenchPlan, RefusesUnsafeNamesPathsAndNodes) {
  BenchFlags flags;
  for (const char* prefix : {"", "Bench", "1bench", "bench_x", "bench x",
                             "a-very-long-prefix-that-is-longer-than-forty-chars"}) {
    flags.name_prefix = prefix;
    expectRefused(flags, "--name-prefix");
  }
  flags = BenchFlags();
  flags.node_dir = "relative/dir";
  expectRefused(flags, "--node-dir");
  flags = BenchFlags();
  flags.node_id = "node a";
  expectRefused(flags, "--node-id");
  flags = BenchFlags();
  flags.node_id = "node-a";
  flags.peer_node_id = "node-a";
  expectRefused(flags, "--peer-node-id");
  flags = BenchFlags();
  flags.peer_node_id = "";
  expectRefused(flags, "--peer-node-id");
  flags = BenchFlags();
  flags.block = true;
  flags.fs_type = "ext4";
  expectRefused(flags, "--fs-type");
}

}  // namespace
}  // namespace polycsi::csictl
