// polycsi-driver-bench: start-up, memory and scale figures of `polycsi serve` with the sample
// plugin, each next to a baseline measured in the same run:
//   - exec to a served Probe (median of --startup-repeats) vs fork+exec+exit of /bin/true;
//   - resident memory idle (VmRSS, and which mappings hold it) and at the end (VmHWM);
//   - --volumes volumes: CreateVolume at concurrency 32, paging through ListVolumes (median of
//     5), ControllerPublishVolume of every volume, and restart recovery (exec to a served Probe
//     with every volume and attachment on disk, median of --restart-repeats) vs the Probe
//     round trip.
// Writes one JSON document (--json). Only the driver it started is stopped, by pid.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "bench_statistics.hpp"
#include "csi_connection.hpp"
#include "driver_launcher.hpp"
#include "process_memory.hpp"

namespace {

using polycsi::bench::DriverCommand;
using polycsi::bench::DriverLauncher;
using polycsi::csictl::CsiConnection;
using Ms = std::chrono::duration<double, std::milli>;

double median(std::vector<double> values) {
  return polycsi::csictl::summarizeLatencies(std::move(values)).p50;
}

nlohmann::ordered_json memoryJson(pid_t pid, int top) {
  const auto status = polycsi::bench::readMemoryStatus(pid);
  nlohmann::ordered_json mappings = nlohmann::ordered_json::array();
  const auto by_mapping = polycsi::bench::readRssByMapping(pid);
  for (int i = 0; i < top && i < static_cast<int>(by_mapping.size()); ++i) {
    mappings.push_back({{"mapping", by_mapping[static_cast<std::size_t>(i)].name},
                        {"rss_mib", by_mapping[static_cast<std::size_t>(i)].rss_mib}});
  }
  return {{"vm_rss_mib", status.rss_mib},
          {"vm_hwm_mib", status.hwm_mib},
          {"rss_anon_mib", status.anon_mib},
          {"rss_file_mib", status.file_mib},
          {"largest_mappings", mappings}};
}

// fork + exec + wait of `argv` (output discarded): with /bin/true, what starting any process
// costs on this machine right now; with `polycsi --version`, what loading polycsi's shared
// libraries and running their initialisers costs before any of polycsi's own work.
double spawnMs(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  const auto began = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1);
    ::execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return Ms(std::chrono::steady_clock::now() - began).count();
}

double probeRoundTripMs(CsiConnection& csi, int calls) {
  std::vector<double> samples;
  for (int i = 0; i < calls; ++i) {
    auto context = csi.newCallContext();
    csi::v1::ProbeResponse response;
    const auto began = std::chrono::steady_clock::now();
    const grpc::Status status =
        csi.identity().Probe(context.get(), csi::v1::ProbeRequest(), &response);
    if (!status.ok()) throw std::runtime_error("Probe failed: " + status.error_message());
    samples.push_back(Ms(std::chrono::steady_clock::now() - began).count());
  }
  return median(samples);
}

// Runs `work(i)` for i in [0, count) on `threads` threads; returns the wall time in seconds.
// Throws the first failure's message after every thread stopped.
template <typename Work>
double runParallel(int count, int threads, Work work) {
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  std::string failure;
  std::mutex failure_mu;
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (!failed.load()) {
        const int i = next.fetch_add(1);
        if (i >= count) return;
        const std::string problem = work(i);
        if (!problem.empty()) {
          std::lock_guard<std::mutex> lock(failure_mu);
          if (!failed.exchange(true)) failure = problem;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  if (failed.load()) throw std::runtime_error(failure);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
}

std::string volumeName(int i) { return "scale-" + std::to_string(i); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Start-up, memory and scale figures of polycsi serve (sample plugin)"};
  std::string polycsi, plugin_dir, work, json_path;
  int volumes = 10000, startup_repeats = 20, restart_repeats = 5, threads = 32;
  app.add_option("--polycsi", polycsi, "the polycsi binary")->required()->check(CLI::ExistingFile);
  app.add_option("--plugin-dir", plugin_dir, "directory with polycsi_sample.so")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--work", work,
                 "empty private directory (put it on tmpfs to measure the driver, "
                 "not the disk)")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--volumes", volumes, "volumes for the scale part")->check(CLI::Range(1, 100000));
  app.add_option("--startup-repeats", startup_repeats)->check(CLI::Range(1, 1000));
  app.add_option("--restart-repeats", restart_repeats)->check(CLI::Range(1, 100));
  app.add_option("--threads", threads, "client threads for create and publish")
      ->check(CLI::Range(1, 256));
  app.add_option("--json", json_path, "write the results here")->required();
  CLI11_PARSE(app, argc, argv);
  if (work.front() != '/') {
    std::cerr << "--work must be an absolute path\n";
    return 2;
  }

  try {
    std::ofstream(work + "/config.yaml")
        << "driver_name: polycsi.csi.io\nstate_path: " << work << "/state\n"
        << "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        << "    settings:\n      directory: " << work << "/volumes\n";
    DriverCommand command;
    command.binary = polycsi;
    command.config = work + "/config.yaml";
    command.socket = work + "/csi.sock";
    command.plugin_dir = plugin_dir;
    command.log = work + "/driver.log";
    DriverLauncher driver(command);
    nlohmann::ordered_json result;
    result["tool"] = "polycsi-driver-bench";

    // Start-up on an empty state, against the cost of starting any process.
    std::vector<double> startups, spawns, versions;
    for (int i = 0; i < startup_repeats; ++i) {
      spawns.push_back(spawnMs({"/bin/true"}));
      versions.push_back(spawnMs({polycsi, "--version"}));
      startups.push_back(driver.start().count());
      if (i + 1 < startup_repeats) driver.stop();
    }
    result["startup"] = {{"repeats", startup_repeats},
                         {"exec_to_probe_ms_median", median(startups)},
                         {"exec_to_probe_ms_all", startups},
                         {"baseline_spawn_true_ms_median", median(spawns)},
                         {"baseline_polycsi_version_ms_median", median(versions)}};
    std::cerr << "driver-bench: exec to served Probe, median " << median(startups) << " ms\n";

    CsiConnection csi(driver.endpoint(), std::chrono::seconds(60));
    const double probe_ms = probeRoundTripMs(csi, 500);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    result["probe_round_trip_ms_median"] = probe_ms;
    result["memory_idle"] = memoryJson(driver.pid(), 12);

    // Scale: create.
    const auto createOne = [&](int i) -> std::string {
      csi::v1::CreateVolumeRequest request;
      request.set_name(volumeName(i));
      request.mutable_capacity_range()->set_required_bytes(16 << 20);
      auto* capability = request.add_volume_capabilities();
      capability->mutable_block();
      capability->mutable_access_mode()->set_mode(
          csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
      csi::v1::CreateVolumeResponse response;
      auto context = csi.newCallContext();
      const grpc::Status status = csi.controller().CreateVolume(context.get(), request, &response);
      return status.ok() ? "" : "CreateVolume " + volumeName(i) + ": " + status.error_message();
    };
    const double create_seconds = runParallel(volumes, threads, createOne);
    std::cerr << "driver-bench: created " << volumes << " volumes in " << create_seconds << " s\n";

    // Scale: page through ListVolumes.
    nlohmann::ordered_json listing = nlohmann::ordered_json::array();
    std::vector<std::string> ids;
    for (const int page_size : {0, 1000}) {
      std::vector<double> totals;
      int pages = 0;
      for (int repeat = 0; repeat < 5; ++repeat) {
        std::string token;
        int seen = 0;
        pages = 0;
        std::vector<std::string> found;
        const auto began = std::chrono::steady_clock::now();
        do {
          csi::v1::ListVolumesRequest request;
          request.set_max_entries(page_size);
          request.set_starting_token(token);
          csi::v1::ListVolumesResponse response;
          auto context = csi.newCallContext();
          const grpc::Status status =
              csi.controller().ListVolumes(context.get(), request, &response);
          if (!status.ok()) throw std::runtime_error("ListVolumes: " + status.error_message());
          seen += response.entries_size();
          for (const auto& entry : response.entries()) found.push_back(entry.volume().volume_id());
          token = response.next_token();
          if (++pages > volumes + 10) throw std::runtime_error("ListVolumes never ends");
        } while (!token.empty());
        totals.push_back(Ms(std::chrono::steady_clock::now() - began).count());
        if (seen != volumes) {
          throw std::runtime_error("ListVolumes listed " + std::to_string(seen) + " of " +
                                   std::to_string(volumes) + " volumes");
        }
        ids = std::move(found);
      }
      listing.push_back({{"max_entries", page_size},
                         {"pages", pages},
                         {"total_ms_median", median(totals)},
                         {"total_ms_all", totals}});
    }
    std::sort(ids.begin(), ids.end());

    // Scale: publish every volume, so the attachment store holds them all.
    const auto publishOne = [&](int i) -> std::string {
      csi::v1::ControllerPublishVolumeRequest request;
      request.set_volume_id(ids[static_cast<std::size_t>(i)]);
      request.set_node_id("bench-node-a");
      request.mutable_volume_capability()->mutable_block();
      request.mutable_volume_capability()->mutable_access_mode()->set_mode(
          csi::v1::VolumeCapability::AccessMode::SINGLE_NODE_WRITER);
      csi::v1::ControllerPublishVolumeResponse response;
      auto context = csi.newCallContext();
      const grpc::Status status =
          csi.controller().ControllerPublishVolume(context.get(), request, &response);
      return status.ok() ? "" : "ControllerPublishVolume: " + status.error_message();
    };
    const double publish_seconds = runParallel(volumes, threads, publishOne);
    result["memory_loaded"] = memoryJson(driver.pid(), 12);

    // Restart recovery: every volume and attachment is read back before Probe is served.
    std::vector<double> restarts;
    for (int i = 0; i < restart_repeats; ++i) {
      driver.stop();
      restarts.push_back(driver.start().count());
    }
    CsiConnection after(driver.endpoint(), std::chrono::seconds(60));
    {
      csi::v1::ControllerGetVolumeRequest request;
      request.set_volume_id(ids.back());
      csi::v1::ControllerGetVolumeResponse response;
      auto context = after.newCallContext();
      const grpc::Status status =
          after.controller().ControllerGetVolume(context.get(), request, &response);
      if (!status.ok() || response.status().published_node_ids_size() != 1) {
        throw std::runtime_error("after a restart, " + ids.back() +
                                 " is not attached to bench-node-a: " + status.error_message());
      }
    }
    const double probe_after_ms = probeRoundTripMs(after, 200);
    result["scale"] = {{"volumes", volumes},
                       {"threads", threads},
                       {"create_seconds", create_seconds},
                       {"creates_per_second", volumes / create_seconds},
                       {"list", listing},
                       {"publish_seconds", publish_seconds},
                       {"publishes_per_second", volumes / publish_seconds},
                       {"restart_exec_to_probe_ms_median", median(restarts)},
                       {"restart_exec_to_probe_ms_all", restarts},
                       {"probe_round_trip_ms_median_after_restart", probe_after_ms}};
    result["memory_after_restart"] = memoryJson(driver.pid(), 12);
    driver.stop();

    std::ofstream out(json_path);
    out << result.dump(2) << '\n';
    if (!out) throw std::runtime_error("cannot write " + json_path);
    std::cout << result.dump(2) << '\n';
    return 0;
  } catch (const std::exception& error) {
    std::cerr << "driver-bench: " << error.what() << '\n';
    return 1;
  }
}
