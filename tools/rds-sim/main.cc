// rds-sim: a MikroTik RouterOS "RDS" simulator reachable over SSH. See README.md.
#include <libssh/libssh.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <thread>

#include "disk_commands.hpp"
#include "disk_store.hpp"
#include "fault_injector.hpp"
#include "nvmet_exporter.hpp"
#include "size_units.hpp"
#include "ssh_server.hpp"

namespace {

using rds_sim::Pool;

// `NAME=DIR` or `NAME=DIR:CAPACITY`.
Pool parsePool(const std::string& text, std::uint64_t default_capacity) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0 || equals + 1 == text.size()) {
    throw std::invalid_argument("--pool wants NAME=DIR[:CAPACITY], got `" + text + "`");
  }
  Pool pool;
  pool.name = text.substr(0, equals);
  std::string directory = text.substr(equals + 1);
  pool.capacity_bytes = default_capacity;
  const std::size_t colon = directory.rfind(':');
  if (colon != std::string::npos) {
    const auto capacity = rds_sim::parseRouterOsSize(directory.substr(colon + 1));
    if (!capacity || *capacity == 0) {
      throw std::invalid_argument("--pool capacity is not a size: `" + text + "`");
    }
    pool.capacity_bytes = *capacity;
    directory.resize(colon);
  }
  if (pool.name.find('/') != std::string::npos) {
    throw std::invalid_argument("--pool name must not contain `/`: `" + text + "`");
  }
  pool.directory = std::filesystem::absolute(directory);
  return pool;
}

// Waits for SIGTERM/SIGINT (blocked in every thread) and stops the server.
void watchSignals(const sigset_t& signals, rds_sim::SshServer& server,
                  const std::atomic<bool>& finished) {
  const timespec tick{0, 200'000'000};
  while (!finished.load()) {
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      spdlog::info("signal {}: shutting down", signal);
      server.stop();
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rds-sim: a MikroTik RouterOS RDS simulator reachable over SSH"};
  std::string listen = "127.0.0.1:0";
  std::string host_key;
  std::string user = "admin";
  std::string password;
  std::string authorized_keys;
  std::string state_dir;
  std::vector<std::string> pool_specs;
  std::string pool_capacity = "1T";
  std::uint32_t command_latency_ms = 0;
  std::uint32_t fault_delay_ms = 0;
  std::uint32_t fault_drop_after = 0;
  std::uint32_t fault_drop_reply_after = 0;
  bool fault_disk_full = false;
  int terminal_width = 64;
  std::size_t max_sessions = 64;
  int idle_timeout_s = 300;
  std::string nvmet_root = rds_sim::NvmetExporter::kDefaultRoot;
  std::string nvmet_address = "0.0.0.0";
  bool no_nvmet = false;
  std::string line_ending = "crlf";
  std::string log_level = "info";
  std::string command_log;

  app.add_option("--listen", listen, "IPv4 address:port to listen on (port 0 picks a free one)");
  app.add_option("--host-key", host_key,
                 "private host key file; an ed25519 key is generated when missing "
                 "(default: <state-dir>/ssh_host_ed25519_key)");
  app.add_option("--user", user, "the one login name accepted");
  app.add_option("--password", password, "enables password authentication with this password");
  app.add_option("--authorized-keys", authorized_keys,
                 "enables public-key authentication with the keys in this file")
      ->check(CLI::ExistingFile);
  app.add_option("--state-dir", state_dir, "where the state file and the default pool live")
      ->required();
  app.add_option("--pool", pool_specs,
                 "a storage pool NAME=DIR[:CAPACITY] (repeatable; default "
                 "storage-pool=<state-dir>/storage-pool)");
  app.add_option("--pool-capacity", pool_capacity, "capacity of pools that name none");
  app.add_option("--command-latency-ms", command_latency_ms,
                 "answer every command this long after it arrives, as a real RDS takes tens of "
                 "milliseconds; sessions wait in parallel, each session's commands in turn")
      ->check(CLI::Range(std::uint32_t{0}, rds_sim::kMaxCommandLatencyMs));
  app.add_option("--fault-delay-ms", fault_delay_ms, "sleep this long before every command");
  app.add_option("--fault-drop-after", fault_drop_after,
                 "drop the connection carrying the (N+1)-th command (once)");
  app.add_option("--fault-drop-reply-after", fault_drop_reply_after,
                 "run the N-th command, then drop its connection instead of replying (once)");
  app.add_flag("--fault-disk-full", fault_disk_full, "start with the pools reporting full");
  app.add_option("--terminal-width", terminal_width,
                 "width `print detail` wraps at when the client asks for no pty")
      ->check(CLI::Range(20, 1000));
  app.add_option("--max-sessions", max_sessions, "concurrent SSH connections served")
      ->check(CLI::Range(1, 4096));
  app.add_option("--idle-timeout-s", idle_timeout_s, "close connections idle this long")
      ->check(CLI::Range(1, 86400));
  app.add_option("--nvmet-root", nvmet_root, "the kernel NVMe target's configfs directory");
  app.add_option("--nvmet-address", nvmet_address, "address the NVMe/TCP ports listen on");
  app.add_flag("--no-nvmet", no_nvmet, "never export over NVMe/TCP, even where the target exists");
  app.add_option("--line-ending", line_ending, "output line ending")
      ->check(CLI::IsMember({"crlf", "lf"}));
  app.add_option("--command-log", command_log,
                 "append every command run, with the login method, to this file (for tests that "
                 "check the commands a client sends)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("rds-sim"));
  spdlog::set_level(spdlog::level::from_str(log_level));

  // Signals are taken by a dedicated thread; SIGPIPE from a vanished client is ignored.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    const std::size_t colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--listen wants ADDRESS:PORT");
    const std::string listen_address = listen.substr(0, colon);
    const int listen_port = std::stoi(listen.substr(colon + 1));
    if (listen_port < 0 || listen_port > 65535) throw std::invalid_argument("--listen port");
    if (password.empty() && authorized_keys.empty()) {
      throw std::invalid_argument("set --password, --authorized-keys, or both");
    }
    const auto default_capacity = rds_sim::parseRouterOsSize(pool_capacity);
    if (!default_capacity || *default_capacity == 0) {
      throw std::invalid_argument("--pool-capacity is not a size: " + pool_capacity);
    }
    const std::filesystem::path state_path = std::filesystem::absolute(state_dir);
    std::vector<Pool> pools;
    for (const std::string& spec : pool_specs) pools.push_back(parsePool(spec, *default_capacity));
    if (pools.empty()) {
      pools.push_back(Pool{"storage-pool", state_path / "storage-pool", *default_capacity});
    }

    ssh_init();
    rds_sim::DiskStore store(state_path, pools);
    rds_sim::FaultSettings fault_settings;
    fault_settings.delay_ms = fault_delay_ms;
    fault_settings.drop_after = fault_drop_after;
    fault_settings.drop_reply_after = fault_drop_reply_after;
    fault_settings.disk_full = fault_disk_full;
    rds_sim::FaultInjector faults(fault_settings);

    std::unique_ptr<rds_sim::NvmetExporter> exporter;
    if (!no_nvmet && rds_sim::NvmetExporter::available(nvmet_root)) {
      exporter = std::make_unique<rds_sim::NvmetExporter>(nvmet_root);
      spdlog::info("exporting disks over NVMe/TCP through {}", nvmet_root);
    }
    rds_sim::CommandProcessorOptions processor_options;
    processor_options.nvmet_address = nvmet_address;
    processor_options.line_ending = line_ending == "lf" ? "\n" : "\r\n";
    processor_options.command_latency = std::chrono::milliseconds(command_latency_ms);
    rds_sim::CommandProcessor processor(store, faults, exporter.get(), processor_options);
    processor.exportAll();

    rds_sim::SshServerOptions server_options;
    server_options.listen_address = listen_address;
    server_options.port = static_cast<std::uint16_t>(listen_port);
    server_options.host_key =
        host_key.empty() ? state_path / "ssh_host_ed25519_key" : std::filesystem::path(host_key);
    server_options.user = user;
    if (!password.empty()) server_options.password = password;
    if (!authorized_keys.empty()) server_options.authorized_keys = authorized_keys;
    server_options.max_sessions = max_sessions;
    server_options.idle_timeout = std::chrono::seconds(idle_timeout_s);
    server_options.terminal_width = terminal_width;
    if (!command_log.empty()) server_options.command_log = command_log;

    rds_sim::SshServer server(server_options, processor);
    const std::uint16_t port = server.start();
    std::cout << "rds-sim listening on " << listen_address << ":" << port << std::endl;

    std::atomic<bool> finished{false};
    std::thread signal_thread(watchSignals, std::cref(signals), std::ref(server),
                              std::cref(finished));
    server.run();
    finished.store(true);
    signal_thread.join();
    spdlog::info("stopped");
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 1;
  }
  ssh_finalize();
  return 0;
}
