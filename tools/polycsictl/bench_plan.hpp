// What `polycsictl bench` runs: the scenarios, the concurrency levels, how many iterations,
// and the volumes it creates. BenchFlags holds the command line as typed; buildBenchPlan()
// validates it into a BenchPlan. Pure functions: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace polycsi::csictl {

// The four scenarios of the benchmark, in the order they run.
enum class BenchScenario {
  kProbe,         // (a) Identity.Probe round trip: the floor every other call is compared to
  kCreateDelete,  // (b) CreateVolume + DeleteVolume
  kLifecycle,     // (c) create, controller publish, node stage, node publish, and back
  kMigration,     // (d) RWX block: publish to A, publish to B, unpublish A (then clean up)
};

// "probe", "create-delete", "lifecycle" or "migration".
std::string_view benchScenarioName(BenchScenario scenario);

// Parses a comma-separated list of scenario names or their letters a-d ("a,b" or
// "probe,create-delete"). Throws std::invalid_argument for an empty list, an unknown name or
// a scenario named twice. The result is in the canonical order a, b, c, d.
std::vector<BenchScenario> parseBenchScenarios(std::string_view text);

// Upper bound of one concurrency level: each level is that many client threads.
inline constexpr int kMaxBenchConcurrency = 1024;

// Parses a comma-separated list of concurrency levels ("1,8,64"), each 1..1024. Throws
// std::invalid_argument for an empty list, a non-number, a value out of range or a repeat.
std::vector<int> parseConcurrencyLevels(std::string_view text);

// The command line as typed (strings are validated by buildBenchPlan).
struct BenchFlags {
  std::string scenarios = "probe,create-delete,lifecycle,migration";
  std::string concurrency = "1,8,64";
  int iterations = 200;
  int warmup = 2;
  std::string size = "64Mi";
  std::vector<std::string> parameters;
  bool block = false;
  std::string fs_type;
  std::string node_id;
  std::string peer_node_id = "polycsi-bench-peer";
  std::string node_dir;
  std::string name_prefix = "polycsi-bench";
  std::string json_file;
};

// A validated benchmark plan.
struct BenchPlan {
  std::vector<BenchScenario> scenarios;
  std::vector<int> concurrency;
  int iterations = 0;  // scenario runs measured per (scenario, concurrency) level
  int warmup = 0;      // unmeasured runs before each level
  std::int64_t size_bytes = 0;
  std::map<std::string, std::string> parameters;  // CreateVolume parameters
  bool block = false;                             // scenarios b and c: raw block volumes
  std::string fs_type;                            // mount volumes: empty = the driver's default
  std::string node_id;                            // empty = ask the node service (NodeGetInfo)
  std::string peer_node_id;                       // the migration target node (scenario d)
  std::string node_dir;  // empty = a private temporary directory (scenario c)
  std::string name_prefix;
  std::string json_file;  // empty = no JSON file

  bool runs(BenchScenario scenario) const;
};

inline constexpr int kMaxBenchIterations = 1000000;
inline constexpr int kMaxBenchWarmup = 1000;

// Validates every flag and throws std::invalid_argument naming the flag and what is wrong:
// iterations outside 1..1000000, warmup outside 0..1000, a bad size, parameter, scenario or
// concurrency list, a name prefix that is not 1-40 characters of [a-z0-9-] starting with a
// letter, a relative --node-dir, node ids with whitespace or control characters, a peer node
// equal to the node, --fs-type together with --block.
BenchPlan buildBenchPlan(const BenchFlags& flags);

}  // namespace polycsi::csictl
