// bench: latency and throughput of a CSI driver, measured over plain CSI so it works against
// any driver: (a) Probe, (b) create+delete, (c) the whole volume lifecycle, (d) a migration
// handoff on an RWX block volume, each at several concurrency levels. Prints a table (or JSON
// with --json) and optionally writes the JSON to a file as well.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>

#include "bench_plan.hpp"
#include "bench_report.hpp"
#include "bench_runner.hpp"
#include "bench_scenarios.hpp"
#include "command_flags.hpp"
#include "commands.hpp"
#include "duration.hpp"

namespace polycsi::csictl {
namespace {

std::string utcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// Eight hex digits that differ between runs, so volume names never meet a previous run's
// leftovers.
std::string runTag() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto mixed = static_cast<std::uint64_t>(
                         std::chrono::duration_cast<std::chrono::microseconds>(now).count()) ^
                     (static_cast<std::uint64_t>(::getpid()) << 20);
  char text[16];
  std::snprintf(text, sizeof(text), "%08x", static_cast<unsigned>(mixed & 0xffffffffu));
  return text;
}

// The lifecycle scenario's per-volume directories live here. A private temporary directory
// unless --node-dir names one; only what the benchmark created is removed, and only when empty,
// so a mount that failed to go away is never deleted through.
class NodeDirectory {
 public:
  explicit NodeDirectory(const std::string& requested) {
    if (!requested.empty()) {
      std::error_code error;
      if (!std::filesystem::is_directory(requested, error)) {
        throw std::invalid_argument("--node-dir " + requested + " is not a directory");
      }
      path_ = requested;
      return;
    }
    char pattern[] = "/tmp/polycsi-bench.XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      throw std::runtime_error(std::string("cannot create a node directory under /tmp: ") +
                               std::strerror(errno));
    }
    path_ = pattern;
    owned_ = true;
  }
  ~NodeDirectory() {
    if (owned_ && ::rmdir(path_.c_str()) != 0) {
      std::cerr << "polycsictl bench: left " << path_ << " in place: " << std::strerror(errno)
                << '\n';
    }
  }
  NodeDirectory(const NodeDirectory&) = delete;
  NodeDirectory& operator=(const NodeDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool owned_ = false;
};

int runBench(CommandContext& ctx, const BenchFlags& flags, const std::string& controller_flag) {
  const BenchPlan plan = buildBenchPlan(flags);
  CsiConnection& node = ctx.connection();
  std::unique_ptr<CsiConnection> separate_controller;
  if (!controller_flag.empty()) {
    std::chrono::milliseconds timeout;
    try {
      timeout = parseDuration(ctx.options().timeout);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string("--timeout: ") + error.what());
    }
    separate_controller = std::make_unique<CsiConnection>(controller_flag, timeout);
  }
  CsiConnection& controller = separate_controller ? *separate_controller : node;

  BenchReport report;
  report.endpoint = ctx.options().endpoint;
  report.controller_endpoint = controller_flag.empty() ? report.endpoint : controller_flag;
  report.started_at = utcNow();
  report.plan = plan;
  report.driver = discoverDriverFacts(node, controller, plan);

  std::unique_ptr<NodeDirectory> node_dir;
  if (plan.runs(BenchScenario::kLifecycle))
    node_dir = std::make_unique<NodeDirectory>(plan.node_dir);
  const ScenarioRunner runner(node, controller, report.plan, report.driver,
                              node_dir ? node_dir->path() : std::string());
  const std::string tag = runTag();
  for (const BenchScenario scenario : plan.scenarios) {
    for (const int concurrency : plan.concurrency) {
      report.levels.push_back(
          runBenchLevel(runner, report.plan, scenario, concurrency, tag, &std::cerr));
    }
  }

  const nlohmann::ordered_json json = benchReportJson(report);
  if (!plan.json_file.empty()) {
    std::ofstream file(plan.json_file);
    file << json.dump(2) << '\n';
    if (!file) throw std::runtime_error("cannot write " + plan.json_file);
  }
  if (ctx.options().json) {
    std::cout << json.dump(2) << '\n';
  } else {
    printBenchTable(report, std::cout);
  }
  return benchHadErrors(report) ? kExitRpcError : kExitOk;
}

}  // namespace

void addBenchCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<BenchFlags>();
  auto controller_endpoint = std::make_shared<std::string>();
  CLI::App* bench = app.add_subcommand(
      "bench",
      "Measure the driver over CSI: (a) Probe, (b) create+delete, (c) the volume lifecycle, "
      "(d) a migration handoff on an RWX block volume; p50/p90/p99/max and calls/s per RPC at "
      "each concurrency level. Exit 1 when any call failed.");
  bench->add_option("--controller-endpoint", *controller_endpoint,
                    "Controller service endpoint when it is not --endpoint");
  bench
      ->add_option("--scenarios", flags->scenarios,
                   "comma list of probe|a, create-delete|b, lifecycle|c, migration|d")
      ->capture_default_str();
  bench->add_option("--concurrency", flags->concurrency, "comma list of client thread counts")
      ->capture_default_str();
  bench
      ->add_option("--iterations", flags->iterations,
                   "measured scenario runs per scenario and concurrency level")
      ->capture_default_str();
  bench->add_option("--warmup", flags->warmup, "unmeasured runs before each level")
      ->capture_default_str();
  bench->add_option("--size", flags->size, "capacity of each volume")->capture_default_str();
  addKeyValueOption(*bench, "--param", flags->parameters, "CreateVolume parameter");
  bench->add_flag("--block", flags->block,
                  "create-delete and lifecycle use raw block volumes (default: mount)");
  bench->add_option("--fs-type", flags->fs_type, "filesystem of mount volumes (driver default)");
  bench->add_option("--node-id", flags->node_id,
                    "node to publish to (default: NodeGetInfo of --endpoint)");
  bench
      ->add_option("--peer-node-id", flags->peer_node_id,
                   "the migration's target node (scenario d)")
      ->capture_default_str();
  bench->add_option("--node-dir", flags->node_dir,
                    "absolute directory, seen alike by this tool and the node service, for "
                    "staging and target paths (default: a private directory under /tmp)");
  bench->add_option("--name-prefix", flags->name_prefix, "prefix of the volume names")
      ->capture_default_str();
  bench->add_option("--json-file", flags->json_file, "also write the JSON report to this file");
  selectOnParse(bench, context, [flags, controller_endpoint](CommandContext& ctx) {
    return runBench(ctx, *flags, *controller_endpoint);
  });
}

}  // namespace polycsi::csictl
