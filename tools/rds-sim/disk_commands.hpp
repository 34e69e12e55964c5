// The commands rds-sim understands (`/disk add|set|remove|print`, `/file print|remove` and the
// `/polycsi-sim fault` control command), run against the DiskStore with RouterOS's output and
// error texts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "disk_store.hpp"
#include "fault_injector.hpp"
#include "nvmet_exporter.hpp"
#include "print_format.hpp"
#include "routeros_cli_parser.hpp"

namespace rds_sim {

// What running one command line produced.
struct CommandOutcome {
  std::string output;            // text for the channel, RouterOS line endings included
  int exit_status = 0;           // 0 on success, 1 when the output is an error
  bool drop_connection = false;  // fault injection: close the connection without replying
  bool ran_before_drop = false;  // with drop_connection: the command ran, only its reply is lost
};

struct CommandProcessorOptions {
  std::string nvmet_address = "0.0.0.0";  // traddr of the NVMe/TCP ports it creates
  std::string line_ending = "\r\n";       // RouterOS ends lines with CR LF
  // How long a real RDS takes to answer a command (tens of milliseconds): spent before every
  // command other than the `/polycsi-sim` control command, outside the processor's lock, so
  // commands of different sessions wait in parallel while each session's commands, run one
  // after the other by its connection thread, wait in turn. 0: answer at once.
  std::chrono::milliseconds command_latency{0};
  // Spends the latency; std::this_thread::sleep_for when empty. Tests pass one that lets them
  // see which commands are waiting at the same time.
  std::function<void(std::chrono::milliseconds)> spend_latency;
};

// The largest --command-latency-ms rds-sim accepts: far above any real answer time, and below
// the plugin's shortest command timeout.
inline constexpr std::uint32_t kMaxCommandLatencyMs = 10000;

// Parses and runs command lines. Thread-safe: commands from all sessions are serialised (the
// command latency and the injected delay are spent outside the lock, so a slow command does not
// stall the others).
// The store, fault injector and exporter (optional; null when the kernel target is absent)
// are borrowed and must outlive the processor.
class CommandProcessor {
 public:
  CommandProcessor(DiskStore& store, FaultInjector& faults, NvmetExporter* exporter,
                   CommandProcessorOptions options = {});

  // Runs one command line as RouterOS would, laying out `print detail` for `terminal_width`
  // columns. Never throws for bad input: errors come back as RouterOS text with status 1.
  CommandOutcome execute(std::string_view line, int terminal_width);

  // Exports every disk marked nvme-tcp-export=yes (start-up reconciliation with the kernel,
  // whose configfs state outlives the simulator). Throws std::system_error on failure.
  void exportAll();

  // The menus and verbs the parser accepts.
  static const std::vector<MenuSpec>& menus();

 private:
  // An item of the /disk menu: a pool (shown as a mounted RAID) or a file disk.
  struct DiskItem {
    const Pool* pool = nullptr;
    std::uint32_t disk_id = 0;
    std::uint32_t id = 0;  // the `*<hex>` id
  };
  struct FileItem {
    std::filesystem::path host_path;
    std::string name;
    bool is_pool_root = false;
    bool is_directory = false;
  };

  std::string runLocked(const CliCommand& command, int terminal_width);
  std::string diskAdd(const CliCommand& command);
  std::string diskSet(const CliCommand& command);
  std::string diskRemove(const CliCommand& command);
  std::string filePrintOrRemove(const CliCommand& command, int terminal_width);
  std::string diskPrint(const CliCommand& command, int terminal_width);
  std::string fault(const CliCommand& command);

  std::vector<DiskItem> diskItems() const;
  PrintEntry diskEntry(const DiskItem& item, int index) const;
  std::vector<FileItem> fileItems() const;
  PrintEntry fileEntry(const FileItem& item, int index) const;

  void applyExport(const Disk& before, const Disk& after, bool existed);
  void checkSpace(const Pool& pool, std::uint64_t extra_bytes) const;

  DiskStore& store_;
  FaultInjector& faults_;
  NvmetExporter* exporter_;
  CommandProcessorOptions options_;
  std::mutex mutex_;
};

}  // namespace rds_sim
