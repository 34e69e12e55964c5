// One RouterOS command (`/disk print detail where slot="..."`) against rds-sim over real SSH
// on loopback: through the rds_nvme plugin's SshSessionPool (a persistent, authenticated
// session) versus a fresh connection per command (TCP, key exchange, host key check and
// password authentication each time). Target: pooled at least 20x faster than fresh.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
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

// One simulator for the whole program, in a private directory removed at exit.
struct Simulator {
  polycsi::testing::TempDir work;
  polycsi::testing::RdsSimProcess sim{work.str() + "/rds-sim"};
  Simulator() { sim.start(); }

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

Simulator& simulator() {
  static Simulator instance;
  return instance;
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
  options.ssh = simulator().options();
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
BENCHMARK(BM_PooledSession)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void BM_FreshConnection(benchmark::State& state) {
  const SshOptions options = simulator().options();
  for (auto _ : state) {
    auto session = SshSession::connect(options, std::chrono::seconds(10));
    const auto reply = session->exec(command().text(), std::chrono::seconds(30));
    if (reply.exitStatus != 0) {
      state.SkipWithError("rds-sim refused the command");
      break;
    }
  }
}
BENCHMARK(BM_FreshConnection)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
