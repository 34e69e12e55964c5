// One RouterOS command (`/disk print detail where slot="..."`) against rds-sim over real SSH
// on loopback: through the rds_nvme plugin's SshSessionPool (a persistent, authenticated
// session) versus a fresh connection per command (TCP, key exchange, host key check and
// password authentication each time). Target: pooled at least 20x faster than fresh.
// The argument is rds-sim's --command-latency-ms: 0 (the simulator answers at once) and
// POLYCSI_BENCH_RDS_LATENCY_MS (default 20: as long as a real RDS takes to answer a command).
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <stdexcept>

#include "driver_process.hpp"
#include "rds_sim_process.hpp"
#include "routeros_command.hpp"
#include "ssh_session.hpp"
#include "ssh_session_pool.hpp"
#include "temp_directory.hpp"

namespace {

using polycsi::rds_nvme::RouterOsCommand;
using polycsi::rds_nvme::SlotName;
using polycsi::rds_nvme::SshOptions;
using polycsi::rds_nvme::SshPoolOptions;
using polycsi::rds_nvme::SshSession;
using polycsi::rds_nvme::SshSessionPool;

// One simulator per latency for the whole program, each in a private directory removed at
// exit.
struct Simulator {
  polycsi::testing::TempDir work;
  polycsi::testing::RdsSimProcess sim{work.str() + "/rds-sim"};
  explicit Simulator(int latencyMs) {
    sim.setCommandLatencyMs(latencyMs);
    sim.start();
  }

  SshOptions options() const {
    SshOptions options;
    options.host = "127.0.0.1";
    options.port = sim.port();
    options.user = polycsi::testing::RdsSimProcess::kUser;
    options.password = polycsi::testing::RdsSimProcess::kPassword;
    options.hostKeyFingerprint = sim.hostKeyFingerprint();
    options.connectTimeout = std::chrono::seconds(10);
    return options;
  }
};

Simulator& simulator(int latencyMs) {
  static std::map<int, std::unique_ptr<Simulator>> instances;
  auto& instance = instances[latencyMs];
  if (!instance) instance = std::make_unique<Simulator>(latencyMs);
  return *instance;
}

const RouterOsCommand& command() {
  static const RouterOsCommand printed =
      RouterOsCommand::printDiskBySlot(SlotName::parse("pvc-bench", "benchmark slot"));
  return printed;
}

polycsi::Call call() {
  polycsi::Call c;
  c.timeout = std::chrono::seconds(30);
  return c;
}

void BM_PooledSession(benchmark::State& state) {
  SshPoolOptions options;
  options.ssh = simulator(static_cast<int>(state.range(0))).options();
  options.size = 1;
  SshSessionPool pool(
      options, [](const std::string& warning) { std::cerr << "ssh pool: " << warning << '\n'; });
  pool.run(command(), call());  // connects: not measured
  for (auto _ : state) {
    const auto reply = pool.run(command(), call());
    if (reply.exitStatus != 0) {
      state.SkipWithError("rds-sim refused the command");
      break;
    }
  }
}

void BM_FreshConnection(benchmark::State& state) {
  const SshOptions options = simulator(static_cast<int>(state.range(0))).options();
  for (auto _ : state) {
    auto session = SshSession::connect(options, std::chrono::seconds(10));
    const auto reply = session->exec(command().text(), std::chrono::seconds(30));
    if (reply.exitStatus != 0) {
      state.SkipWithError("rds-sim refused the command");
      break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int latencyMs = 20;
  if (const char* text = std::getenv("POLYCSI_BENCH_RDS_LATENCY_MS")) {
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < 0 || value > 10000) {
      std::cerr << "ssh_roundtrip_bench: POLYCSI_BENCH_RDS_LATENCY_MS='" << text
                << "' is not 0-10000\n";
      return 2;
    }
    latencyMs = static_cast<int>(value);
  }
  for (auto [name, function] : {std::pair{"BM_PooledSession", &BM_PooledSession},
                                std::pair{"BM_FreshConnection", &BM_FreshConnection}}) {
    auto* registered = benchmark::RegisterBenchmark(name, function)->Arg(0);
    if (latencyMs != 0) registered->Arg(latencyMs);
    registered->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
