#include "bench_plan.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "byte_size.hpp"
#include "key_value.hpp"

namespace polycsi::csictl {
namespace {

struct ScenarioName {
  BenchScenario scenario;
  std::string_view name;
  std::string_view letter;
};

constexpr std::array<ScenarioName, 4> kScenarioNames = {{
    {BenchScenario::kProbe, "probe", "a"},
    {BenchScenario::kCreateDelete, "create-delete", "b"},
    {BenchScenario::kLifecycle, "lifecycle", "c"},
    {BenchScenario::kMigration, "migration", "d"},
}};

std::vector<std::string_view> splitCommas(std::string_view text) {
  std::vector<std::string_view> items;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    items.push_back(text.substr(start, comma == std::string_view::npos ? comma : comma - start));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

void requirePlainToken(std::string_view flag, std::string_view value) {
  for (const unsigned char c : value) {
    if (std::isspace(c) || std::iscntrl(c)) {
      throw std::invalid_argument(std::string(flag) + " '" + std::string(value) +
                                  "' contains whitespace or control characters");
    }
  }
}

void requireNamePrefix(std::string_view prefix) {
  const bool shaped = !prefix.empty() && prefix.size() <= 40 && prefix.front() >= 'a' &&
                      prefix.front() <= 'z' &&
                      std::all_of(prefix.begin(), prefix.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                      });
  if (!shaped) {
    throw std::invalid_argument("--name-prefix '" + std::string(prefix) +
                                "' must be 1-40 characters of [a-z0-9-] starting with a letter "
                                "(volume names must be valid for any driver)");
  }
}

}  // namespace

std::string_view benchScenarioName(BenchScenario scenario) {
  for (const ScenarioName& entry : kScenarioNames) {
    if (entry.scenario == scenario) return entry.name;
  }
  throw std::logic_error("unnamed bench scenario");
}

std::vector<BenchScenario> parseBenchScenarios(std::string_view text) {
  if (text.empty()) throw std::invalid_argument("--scenarios must name at least one scenario");
  std::vector<BenchScenario> chosen;
  for (const std::string_view item : splitCommas(text)) {
    const auto found =
        std::find_if(kScenarioNames.begin(), kScenarioNames.end(),
                     [&](const ScenarioName& s) { return item == s.name || item == s.letter; });
    if (found == kScenarioNames.end()) {
      throw std::invalid_argument("--scenarios: unknown scenario '" + std::string(item) +
                                  "' (expected probe|a, create-delete|b, lifecycle|c, "
                                  "migration|d)");
    }
    if (std::find(chosen.begin(), chosen.end(), found->scenario) != chosen.end()) {
      throw std::invalid_argument("--scenarios: '" + std::string(found->name) + "' is named twice");
    }
    chosen.push_back(found->scenario);
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::vector<int> parseConcurrencyLevels(std::string_view text) {
  if (text.empty()) throw std::invalid_argument("--concurrency must name at least one level");
  std::vector<int> levels;
  for (const std::string_view item : splitCommas(text)) {
    int value = 0;
    const bool digits =
        !item.empty() && item.size() <= 5 &&
        std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      for (const char c : item) value = value * 10 + (c - '0');
    }
    if (!digits || value < 1 || value > kMaxBenchConcurrency) {
      throw std::invalid_argument("--concurrency: '" + std::string(item) +
                                  "' is not a whole number from 1 to " +
                                  std::to_string(kMaxBenchConcurrency));
    }
    if (std::find(levels.begin(), levels.end(), value) != levels.end()) {
      throw std::invalid_argument("--concurrency: " + std::to_string(value) + " is named twice");
    }
    levels.push_back(value);
  }
  return levels;
}

bool BenchPlan::runs(BenchScenario scenario) const {
  return std::find(scenarios.begin(), scenarios.end(), scenario) != scenarios.end();
}

BenchPlan buildBenchPlan(const BenchFlags& flags) {
  BenchPlan plan;
  plan.scenarios = parseBenchScenarios(flags.scenarios);
  plan.concurrency = parseConcurrencyLevels(flags.concurrency);
  if (flags.iterations < 1 || flags.iterations > kMaxBenchIterations) {
    throw std::invalid_argument("--iterations must be from 1 to " +
                                std::to_string(kMaxBenchIterations) + ", got " +
                                std::to_string(flags.iterations));
  }
  plan.iterations = flags.iterations;
  if (flags.warmup < 0 || flags.warmup > kMaxBenchWarmup) {
    throw std::invalid_argument("--warmup must be from 0 to " + std::to_string(kMaxBenchWarmup) +
                                ", got " + std::to_string(flags.warmup));
  }
  plan.warmup = flags.warmup;
  try {
    plan.size_bytes = parseSize(flags.size);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string("--size: ") + error.what());
  }
  if (plan.size_bytes <= 0) throw std::invalid_argument("--size must be larger than 0 bytes");
  plan.parameters = parseKeyValues("--param", flags.parameters);
  if (flags.block && !flags.fs_type.empty()) {
    throw std::invalid_argument("--fs-type does not apply to --block volumes");
  }
  plan.block = flags.block;
  if (!flags.fs_type.empty()) requirePlainToken("--fs-type", flags.fs_type);
  plan.fs_type = flags.fs_type;
  requirePlainToken("--node-id", flags.node_id);
  if (flags.peer_node_id.empty()) throw std::invalid_argument("--peer-node-id must not be empty");
  requirePlainToken("--peer-node-id", flags.peer_node_id);
  if (!flags.node_id.empty() && flags.node_id == flags.peer_node_id) {
    throw std::invalid_argument("--peer-node-id must differ from --node-id '" + flags.node_id +
                                "': a migration needs two nodes");
  }
  plan.node_id = flags.node_id;
  plan.peer_node_id = flags.peer_node_id;
  if (!flags.node_dir.empty() && flags.node_dir.front() != '/') {
    throw std::invalid_argument("--node-dir '" + flags.node_dir +
                                "' must be an absolute path (the driver resolves it, not us)");
  }
  requirePlainToken("--node-dir", flags.node_dir);
  plan.node_dir = flags.node_dir;
  requireNamePrefix(flags.name_prefix);
  plan.name_prefix = flags.name_prefix;
  plan.json_file = flags.json_file;
  return plan;
}

}  // namespace polycsi::csictl
