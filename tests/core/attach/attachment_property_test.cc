// Randomized, seeded, reproducible test of the attachment state machine against a small
// reference model: random publishes and unpublishes of 4 nodes on 16 volumes with random
// semantics, random clock advances and controller restarts (manager and SQLite store destroyed
// and reopened). After every step the manager's decision, its reports and the volume's state
// must equal the model's, and the safety invariants must hold. 8 seeds x 125,000 steps by
// default; POLYCSI_ATTACH_SEED=<n> replaces the seed and POLYCSI_ATTACH_STEPS=<n> the step
// count, to reproduce a failure (whose message names its seed and step).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "attach/attachment_manager.hpp"
#include "attach/messages.hpp"
#include "test_support.hpp"

namespace polycsi::attach {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::FakeTime;
using testing::RecordingObserver;
using testing::TempDir;

constexpr int kVolumes = 16;
constexpr int kNodes = 4;
constexpr uint64_t kDefaultSteps = 125'000;
const AttachSemantics kSemantics[] = {AttachSemantics::kExclusive, AttachSemantics::kShared,
                                      AttachSemantics::kMigrationWindow};

uint64_t envOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// What the model expects one operation to do.
struct Expected {
  Code code = Code::kOk;
  std::string message;
  int action = 0;  // PublishPlan::Action or UnpublishPlan::Action, as int
  bool changesNodes = false;
  std::optional<std::pair<std::string, std::string>> started;
  std::optional<milliseconds> completed;
  std::optional<std::pair<std::string, milliseconds>> failed;  // reason, elapsed
};

// The reference model of one volume: the rules of docs/kubevirt-migration.md and
// docs/reliability.md, written as plainly as possible.
struct ModelVolume {
  std::string id;
  AttachSemantics home = AttachSemantics::kExclusive;  // what its publishes usually ask for
  seconds timeout{300};
  // State.
  AttachSemantics semantics = AttachSemantics::kExclusive;
  std::vector<std::string> nodes;
  std::optional<Clock::time_point> start;
  seconds windowTimeout{300};
  bool timedOut = false;

  bool has(const std::string& n) const {
    return std::find(nodes.begin(), nodes.end(), n) != nodes.end();
  }

  Expected publish(const std::string& node, AttachSemantics asked, Clock::time_point now) {
    Expected e;
    if (has(node)) {
      e.action = static_cast<int>(PublishPlan::Action::kAlreadyAttached);
      return e;
    }
    if (nodes.empty()) {
      semantics = asked;
      windowTimeout = timeout;
      nodes = {node};
      e.action = static_cast<int>(PublishPlan::Action::kAttach);
      e.changesNodes = true;
      return e;
    }
    e.code = Code::kFailedPrecondition;
    if (asked != semantics) {
      e.message = semanticsMismatchMessage(id, nodes, semantics, asked);
    } else if (semantics == AttachSemantics::kExclusive) {
      e.message = exclusiveConflictMessage(id, nodes[0]);
    } else if (semantics == AttachSemantics::kShared) {
      e = Expected{};
      nodes.push_back(node);
      e.action = static_cast<int>(PublishPlan::Action::kAttach);
      e.changesNodes = true;
    } else if (nodes.size() == 1) {
      e = Expected{};
      nodes.push_back(node);
      start = std::chrono::floor<milliseconds>(now);
      windowTimeout = timeout;
      e.action = static_cast<int>(PublishPlan::Action::kStartMigration);
      e.changesNodes = true;
      e.started = {nodes[0], nodes[1]};
    } else if (now - *start <= windowTimeout) {
      e.message = migrationLimitMessage(id, nodes);
    } else {
      const auto elapsed = std::chrono::duration_cast<milliseconds>(now - *start);
      e.message = migrationTimeoutMessage(id, elapsed, windowTimeout);
      if (!timedOut) e.failed = {"timeout", elapsed};
      timedOut = true;
    }
    return e;
  }

  Expected unpublish(const std::string& node, Clock::time_point now) {
    Expected e;
    if (!has(node)) {
      e.action = static_cast<int>(UnpublishPlan::Action::kNotAttached);
      return e;
    }
    e.changesNodes = true;
    if (start) {
      const auto elapsed =
          std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(now - *start));
      const bool source = node == nodes[0];
      e.action = static_cast<int>(source ? UnpublishPlan::Action::kCompleteMigration
                                         : UnpublishPlan::Action::kRollbackMigration);
      // One outcome per migration: a window that expired unnoticed ends as a timeout.
      const bool expired = now - *start > windowTimeout;
      if (!timedOut && expired) e.failed = {"timeout", elapsed};
      if (!timedOut && !expired && source) e.completed = elapsed;
      if (!timedOut && !expired && !source) e.failed = {"target detached", elapsed};
      nodes = {source ? nodes[1] : nodes[0]};
      start.reset();
      timedOut = false;
      return e;
    }
    e.action = static_cast<int>(UnpublishPlan::Action::kDetach);
    std::erase(nodes, node);
    return e;
  }
};

// Why `s` breaks a safety invariant, or empty.
std::string brokenInvariant(const VolumeAttachmentState& s) {
  if (s.semantics == AttachSemantics::kExclusive && s.nodes.size() > 1)
    return "exclusive volume on " + formatNodeList(s.nodes);
  if (s.semantics == AttachSemantics::kMigrationWindow && s.nodes.size() > 2)
    return "migration_window volume on " + formatNodeList(s.nodes);
  if (s.semantics == AttachSemantics::kMigrationWindow && s.nodes.size() == 2 &&
      !s.migrationStartedAt)
    return "two nodes without a migration window";
  if (s.migrationStartedAt && s.nodes.size() != 2) return "window open without two nodes";
  return {};
}

// The model's state as the manager should report it.
std::string mismatch(const ModelVolume& m, const VolumeAttachmentState& s) {
  std::ostringstream out;
  if (s.nodes != m.nodes)
    out << "nodes " << formatNodeList(s.nodes) << " != model " << formatNodeList(m.nodes) << "; ";
  if (m.nodes.empty()) return out.str();
  if (s.semantics != m.semantics) out << "semantics differ; ";
  if (s.migrationStartedAt != m.start) out << "migration start differs; ";
  if (s.migrationTimedOut != m.timedOut) out << "timed-out flag differs; ";
  if (s.migrationTimeout != m.windowTimeout) out << "timeout differs; ";
  return out.str();
}

class AttachmentPropertyTest : public ::testing::TestWithParam<uint64_t> {
 protected:
  void openController() {
    AttachmentStore::Options options;
    options.durable = false;  // crash safety is not what this test checks; speed is needed
    auto store = AttachmentStore::open(dir_.file("attach.db"), options);
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    store_ = std::move(store).value();
    manager_ = AttachmentManager::create(*store_, observer_, time_).value();
  }

  // Empty when the reports of the last operation are exactly what `e` predicts.
  std::string reportMismatch(const Expected& e, const std::string& volume,
                             const std::string& node) const {
    std::ostringstream out;
    const auto& o = observer_;
    if (o.changes.size() != (e.changesNodes ? 1u : 0u))
      out << o.changes.size() << " attachmentsChanged; ";
    if (e.started) {
      if (o.started.size() != 1 || o.started[0].source != e.started->first ||
          o.started[0].target != e.started->second)
        out << "migrationStarted missing or wrong; ";
    } else if (!o.started.empty()) {
      out << "unexpected migrationStarted; ";
    }
    if (e.completed) {
      if (o.completed.size() != 1 || o.completed[0].duration != *e.completed)
        out << "migrationCompleted missing or wrong duration; ";
    } else if (!o.completed.empty()) {
      out << "unexpected migrationCompleted; ";
    }
    if (e.failed) {
      if (o.failed.size() != 1 || o.failed[0].reason != e.failed->first ||
          o.failed[0].elapsed != e.failed->second)
        out << "migrationFailed missing or wrong; ";
    } else if (!o.failed.empty()) {
      out << "unexpected migrationFailed (" << o.failed[0].reason << "); ";
    }
    const bool refused = e.code == Code::kFailedPrecondition;
    if (o.conflicts.size() != (refused ? 1u : 0u)) {
      out << o.conflicts.size() << " attachmentConflict; ";
    } else if (refused && (o.conflicts[0].message != e.message || o.conflicts[0].node != node ||
                           o.conflicts[0].state.volumeId != volume)) {
      out << "attachmentConflict with wrong content; ";
    }
    return out.str();
  }

  TempDir dir_;
  FakeTime time_;
  RecordingObserver observer_;
  std::unique_ptr<AttachmentStore> store_;
  std::unique_ptr<AttachmentManager> manager_;
};

TEST_P(AttachmentPropertyTest, ManagerMatchesModelAndKeepsInvariants) {
  const uint64_t seed = envOr("POLYCSI_ATTACH_SEED", GetParam());
  const uint64_t steps = envOr("POLYCSI_ATTACH_STEPS", kDefaultSteps);
  std::mt19937_64 rng(seed);
  auto uniform = [&](uint64_t n) { return rng() % n; };
  uint64_t step = 0;
  auto where = [&] {
    return "seed " + std::to_string(seed) + ", step " + std::to_string(step) +
           " (rerun: POLYCSI_ATTACH_SEED=" + std::to_string(seed) + ")";
  };

  const seconds timeouts[] = {seconds(30), seconds(60), seconds(120), seconds(300)};
  std::vector<ModelVolume> model(kVolumes);
  for (int i = 0; i < kVolumes; ++i) {
    model[i].id = "be:vol-" + std::to_string(i);
    model[i].home = kSemantics[uniform(3)];
    model[i].timeout = timeouts[uniform(4)];
  }
  const std::string nodes[kNodes] = {"node-a", "node-b", "node-c", "node-d"};

  openController();
  ASSERT_FALSE(HasFatalFailure());
  std::map<std::string, uint64_t> seen;  // how often each kind of outcome happened

  for (step = 0; step < steps; ++step) {
    const uint64_t op = uniform(1000);
    if (op < 150) {
      time_.advance(op < 5 ? milliseconds(uniform(3'600'000)) : milliseconds(uniform(120'000)));
      continue;
    }
    if (op < 154) {
      const auto before = manager_->all();
      manager_.reset();
      store_.reset();
      openController();
      ASSERT_FALSE(HasFatalFailure()) << where();
      ASSERT_EQ(manager_->all(), before) << "state changed across a restart, " << where();
      ++seen["restart"];
      continue;
    }

    ModelVolume& m = model[uniform(kVolumes)];
    const std::string& node = nodes[uniform(kNodes)];
    observer_.clear();
    Expected expected;
    Code code = Code::kOk;
    std::string message;
    int action = -1;
    if (op < 600) {
      // Now and then a publish asks for other semantics than the volume's usual ones.
      const AttachSemantics asked = uniform(100) < 3 ? kSemantics[uniform(3)] : m.home;
      const VolumePolicy policy{asked, m.timeout};
      expected = m.publish(node, asked, time_.now());
      auto plan = manager_->planPublish(m.id, node, policy, "be", "be_csi", PvcRef{"pvc", "ns"});
      if (plan.isOk()) {
        action = static_cast<int>(plan->action);
        const Status committed = manager_->commitPublish(*plan);
        ASSERT_TRUE(committed.isOk()) << committed.toString() << ", " << where();
      } else {
        code = plan.status().code();
        message = plan.status().message();
      }
      ++seen[code == Code::kOk ? "publish action " + std::to_string(action)
                               : message.substr(message.find(' ', 7))];
    } else {
      expected = m.unpublish(node, time_.now());
      auto plan = manager_->planUnpublish(m.id, node);
      ASSERT_TRUE(plan.isOk()) << plan.status().toString() << ", " << where();
      action = static_cast<int>(plan->action);
      const Status committed = manager_->commitUnpublish(*plan);
      ASSERT_TRUE(committed.isOk()) << committed.toString() << ", " << where();
      ++seen["unpublish action " + std::to_string(action)];
    }

    ASSERT_EQ(code, expected.code) << message << ", " << where();
    if (code == Code::kOk) {
      ASSERT_EQ(action, expected.action) << "action, " << where();
    } else {
      ASSERT_EQ(message, expected.message) << where();
    }
    const std::string reports = reportMismatch(expected, m.id, node);
    ASSERT_EQ(reports, "") << where();
    if (expected.failed && expected.failed->first == "timeout") ++seen["timeout reported"];

    const VolumeAttachmentState state = manager_->state(m.id);
    ASSERT_EQ(brokenInvariant(state), "") << m.id << ", " << where();
    ASSERT_EQ(mismatch(m, state), "") << m.id << ", " << where();
  }

  // Every path was exercised, so passing means something.
  for (const char* kind :
       {"restart", "timeout reported", "publish action 0", "publish action 1", "publish action 2",
        "unpublish action 0", "unpublish action 1", "unpublish action 2", "unpublish action 3"}) {
    EXPECT_GT(seen[kind], 0u) << kind << " never happened, seed " << seed;
  }
  uint64_t limit = 0, timeout = 0, exclusive = 0;
  for (const auto& [kind, count] : seen) {
    if (kind.find("(migration limit)") != std::string::npos) limit += count;
    if (kind.find("migration timeout exceeded") != std::string::npos) timeout += count;
    if (kind.find("access mode allows a single node") != std::string::npos) exclusive += count;
  }
  EXPECT_GT(limit, 0u) << "seed " << seed;
  EXPECT_GT(timeout, 0u) << "seed " << seed;
  EXPECT_GT(exclusive, 0u) << "seed " << seed;
}

INSTANTIATE_TEST_SUITE_P(Seeds, AttachmentPropertyTest,
                         ::testing::Values(1, 2, 3, 5, 8, 13, 21, 34),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return "seed" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace polycsi::attach
