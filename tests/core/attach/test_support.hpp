// Shared fixtures of the attach tests: a settable clock, an observer that records every report,
// and the temporary directory of tests/support.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "attach/attachment_manager.hpp"
#include "attach/messages.hpp"
#include "attach/migration_observer.hpp"
#include "temp_directory.hpp"

namespace polycsi::attach {

// Readable GoogleTest output for a state (found by argument-dependent lookup).
inline void PrintTo(const VolumeAttachmentState& s, std::ostream* os) {
  *os << "{" << s.volumeId << " " << semanticsName(s.semantics) << " " << formatNodeList(s.nodes);
  if (s.migrationStartedAt) {
    *os << " window since "
        << std::chrono::duration_cast<std::chrono::milliseconds>(
               s.migrationStartedAt->time_since_epoch())
               .count()
        << "ms for " << s.migrationTimeout.count() << "s"
        << (s.migrationTimedOut ? " timed out" : "");
  }
  *os << " backend=" << s.backend << " prefix=" << s.metricsPrefix << " pvc=" << s.pvc.namespace_
      << "/" << s.pvc.name << "}";
}

}  // namespace polycsi::attach

namespace polycsi::attach::testing {

// A clock that moves only when told to.
class FakeTime : public TimeSource {
 public:
  // 2024-05-01T12:00:00.123456789Z: sub-millisecond digits check that the store keeps ms.
  FakeTime()
      : now_(Clock::time_point(std::chrono::duration_cast<Clock::duration>(
            std::chrono::nanoseconds(1714564800123456789LL)))) {}
  Clock::time_point now() const override { return now_; }
  void advance(std::chrono::nanoseconds d) {
    now_ += std::chrono::duration_cast<Clock::duration>(d);
  }

 private:
  Clock::time_point now_;
};

// Every report, in order.
class RecordingObserver : public MigrationObserver {
 public:
  struct Started {
    VolumeAttachmentState state;
    std::string source, target;
  };
  struct Completed {
    VolumeAttachmentState state;
    std::string source, target;
    std::chrono::milliseconds duration;
  };
  struct Failed {
    VolumeAttachmentState state;
    std::string source, target, reason;
    std::chrono::milliseconds elapsed;
  };
  struct Conflict {
    VolumeAttachmentState state;
    std::string node, message;
  };

  void migrationStarted(const VolumeAttachmentState& state, const std::string& source,
                        const std::string& target) override {
    started.push_back({state, source, target});
  }
  void migrationCompleted(const VolumeAttachmentState& state, const std::string& source,
                          const std::string& target, std::chrono::milliseconds duration) override {
    completed.push_back({state, source, target, duration});
  }
  void migrationFailed(const VolumeAttachmentState& state, const std::string& source,
                       const std::string& target, const std::string& reason,
                       std::chrono::milliseconds elapsed) override {
    failed.push_back({state, source, target, reason, elapsed});
  }
  void attachmentConflict(const VolumeAttachmentState& state, const std::string& node,
                          const std::string& message) override {
    conflicts.push_back({state, node, message});
  }
  void attachmentsChanged(const VolumeAttachmentState& state) override { changes.push_back(state); }

  void clear() {
    started.clear();
    completed.clear();
    failed.clear();
    conflicts.clear();
    changes.clear();
  }
  size_t total() const {
    return started.size() + completed.size() + failed.size() + conflicts.size() + changes.size();
  }

  std::vector<Started> started;
  std::vector<Completed> completed;
  std::vector<Failed> failed;
  std::vector<Conflict> conflicts;
  std::vector<VolumeAttachmentState> changes;
};

// The tests' temporary directory (tests/support/files).
using polycsi::testing::TempDir;

}  // namespace polycsi::attach::testing
