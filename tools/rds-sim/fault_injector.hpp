// Faults the simulator can inject, switched by flags at start and by the
// `/polycsi-sim fault ...` command at run time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

namespace rds_sim {

struct FaultSettings {
  std::uint32_t delay_ms = 0;          // sleep before every command
  std::uint32_t drop_after = 0;        // 0 = off; otherwise drop the connection carrying the
                                       // (N+1)-th command from now, without running it (one shot)
  std::uint32_t drop_reply_after = 0;  // 0 = off; otherwise run the N-th command from now,
                                       // then drop its connection instead of replying (one
                                       // shot): a reply lost after the change took effect
  std::uint32_t hold_after = 0;        // 0 = off; otherwise hold the N-th command from now (1 = the
                                 // next one) without running it until the settings change, then
                                 // drop its connection (one shot): freezes a client between two
                                 // commands so a test can kill it exactly there
  bool hold_copy = false;  // hold the next `/disk add ... copy-from=` until the settings change,
                           // then run it and reply (one shot), while every other command
                           // runs: a copy in progress
  bool fail_next = false;  // the next command fails with `fail_message` (one shot)
  std::string fail_message = "failure: simulated failure";
  bool disk_full = false;  // creating, growing and copying disks fail: not enough space
};

// What to do with the command about to run.
struct FaultDecision {
  std::chrono::milliseconds delay{0};
  bool drop_connection = false;  // close the connection without running the command
  bool drop_reply = false;       // run the command, then close the connection without its reply
  bool hold = false;             // wait (waitForChange) without running it, then drop
  bool hold_then_run = false;    // wait (waitForChange), then run it as usual (hold_copy)
  std::uint64_t hold_generation = 0;  // with hold: the settings generation to wait past
  bool fail = false;
  std::string fail_message;
};

// Thread-safe holder of the fault settings and the command counters behind `drop_after` and
// `drop_reply_after`.
class FaultInjector {
 public:
  explicit FaultInjector(FaultSettings initial = {});

  // Called once per simulated (non-control) command before it runs; consumes one-shot faults.
  // `copy`: the command is a `/disk add ... copy-from=` (for hold_copy, and counted).
  FaultDecision nextCommand(bool copy = false);
  // How many `/disk add ... copy-from=` commands arrived since the simulator started.
  std::uint64_t copyCommands() const;

  bool diskFull() const;
  FaultSettings settings() const;
  // Replaces the settings and restarts the drop_after, drop_reply_after and hold_after counts;
  // wakes every held command.
  void set(const FaultSettings& settings);
  void reset();
  // Blocks until the settings are replaced after `generation` (a held command's release), or
  // at most `limit`. Returns true when released, false when the limit passed.
  bool waitForChange(std::uint64_t generation, std::chrono::milliseconds limit);

 private:
  mutable std::mutex mutex_;
  FaultSettings settings_;
  std::uint32_t commands_since_armed_ = 0;
  std::uint32_t commands_since_reply_armed_ = 0;
  std::uint32_t commands_since_hold_armed_ = 0;
  std::uint64_t generation_ = 0;  // counts set() calls
  std::uint64_t copy_commands_ = 0;
  std::condition_variable changed_;
};

}  // namespace rds_sim
