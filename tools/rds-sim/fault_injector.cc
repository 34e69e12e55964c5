#include "fault_injector.hpp"

namespace rds_sim {

FaultInjector::FaultInjector(FaultSettings initial) : settings_(std::move(initial)) {}

std::uint64_t FaultInjector::copyCommands() const {
  std::lock_guard lock(mutex_);
  return copy_commands_;
}

FaultDecision FaultInjector::nextCommand(bool copy) {
  std::lock_guard lock(mutex_);
  FaultDecision decision;
  if (copy) ++copy_commands_;
  if (copy && settings_.hold_copy) {
    settings_.hold_copy = false;
    decision.hold_then_run = true;
    decision.hold_generation = generation_;
    return decision;
  }
  if (settings_.hold_after != 0 && ++commands_since_hold_armed_ >= settings_.hold_after) {
    settings_.hold_after = 0;
    commands_since_hold_armed_ = 0;
    decision.hold = true;
    decision.hold_generation = generation_;
    return decision;
  }
  if (settings_.drop_after != 0) {
    if (commands_since_armed_ >= settings_.drop_after) {
      settings_.drop_after = 0;
      commands_since_armed_ = 0;
      decision.drop_connection = true;
      return decision;
    }
    ++commands_since_armed_;
  }
  if (settings_.drop_reply_after != 0 &&
      ++commands_since_reply_armed_ >= settings_.drop_reply_after) {
    settings_.drop_reply_after = 0;
    commands_since_reply_armed_ = 0;
    decision.drop_reply = true;
  }
  decision.delay = std::chrono::milliseconds(settings_.delay_ms);
  if (settings_.fail_next) {
    settings_.fail_next = false;
    decision.fail = true;
    decision.fail_message = settings_.fail_message;
  }
  return decision;
}

bool FaultInjector::diskFull() const {
  std::lock_guard lock(mutex_);
  return settings_.disk_full;
}

FaultSettings FaultInjector::settings() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

void FaultInjector::set(const FaultSettings& settings) {
  {
    std::lock_guard lock(mutex_);
    settings_ = settings;
    commands_since_armed_ = 0;
    commands_since_reply_armed_ = 0;
    commands_since_hold_armed_ = 0;
    ++generation_;
  }
  changed_.notify_all();
}

bool FaultInjector::waitForChange(std::uint64_t generation, std::chrono::milliseconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return generation_ != generation; });
}

void FaultInjector::reset() { set(FaultSettings{}); }

}  // namespace rds_sim
