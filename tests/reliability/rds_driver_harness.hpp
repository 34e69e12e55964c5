// A controller (`polycsi serve --mode controller`) with the rds_nvme plugin against a real
// rds-sim, driven as a container orchestrator would: every call recorded, failed calls retried
// with a bounded back-off (as the external-provisioner and external-attacher do), the controller
// killed and restarted on demand, and the simulated RDS inspected directly for what it holds.
//
// THREADING: the RPC methods and untilOk() may be called from many threads at once;
// startDriver(), killDriver() and restartDriver() from one thread while no call is in flight.
// The inspection functions open their own SSH connections and must only run while no fault is
// armed (an armed fault would hit them instead of the driver).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "csi_requests.hpp"
#include "driver_process.hpp"
#include "rds_sim_process.hpp"
#include "status_tally.hpp"
#include "temp_directory.hpp"

namespace polycsi::reliability {

using testing::AccessModeEnum;
using Mode = csi::v1::VolumeCapability::AccessMode;

// The export allow-list entry of a volume no node is published to.
inline constexpr char kFencedPlaceholder[] = "nqn.2014-08.io.polycsi:fenced-no-host";

// A Kubernetes node as the controller sees it: a name and the NVMe host NQN its node plugin
// reports, joined into the CSI node id.
struct TestNode {
  std::string name;
  std::string nqn;
  std::string id() const { return name + "|rds_nvme=" + nqn; }
};
// node-<i> with a fixed, valid host NQN of its own.
TestNode testNode(int i);

// "pvc-<uuid>" made from `tag` and `i`: a CSI name the plugin uses as the RDS slot as is.
std::string volumeName(unsigned tag, unsigned i);
// The RDS slot of a volume id ("rds:<slot>").
std::string slotOf(const std::string& volumeId);

class RdsDriverHarness {
 public:
  // `work` is a private directory for the driver's config, state and log; `sim` must outlive
  // the harness.
  RdsDriverHarness(std::string work, testing::RdsSimProcess& sim);
  ~RdsDriverHarness();

  // Writes the config (backend `rds`, key login, pinned host key, `extraSettings` appended as
  // further indented setting lines) and starts the controller with `extraArgs` after
  // `--mode controller`. Throws when it does not come up as `wait` says.
  void startDriver(const std::string& extraSettings = "",
                   const std::vector<std::string>& extraArgs = {},
                   testing::DriverProcess::Wait wait = testing::DriverProcess::Wait::kReady);
  // SIGKILL, as a node failure or an OOM kill would end it.
  void killDriver();
  // Starts the controller again on the same config and state.
  void restartDriver();
  bool started() const { return driver_ != nullptr; }
  testing::DriverProcess& driver() { return *driver_; }

  // One attempt each, recorded in tally().
  grpc::Status create(const std::string& name, const csi::v1::VolumeCapability& cap,
                      const std::map<std::string, std::string>& parameters, csi::v1::Volume* out);
  grpc::Status deleteVolume(const std::string& volumeId);
  // `out`, when given, receives the answer (its publish_context, which external-attacher keeps
  // in the VolumeAttachment's status.attachmentMetadata).
  grpc::Status publish(const csi::v1::Volume& volume, const TestNode& node, AccessModeEnum mode,
                       csi::v1::ControllerPublishVolumeResponse* out = nullptr);
  grpc::Status unpublish(const csi::v1::Volume& volume, const TestNode& node);
  // ControllerGetVolume's published node ids, sorted.
  grpc::Status publishedNodes(const std::string& volumeId, std::vector<std::string>* out);

  // Calls `rpc` until it answers OK, at most `attempts` times, sleeping 10 ms doubling to
  // 320 ms between attempts; returns the last status.
  grpc::Status untilOk(const std::function<grpc::Status()>& rpc, int attempts = 60);

  StatusTally& tally() { return tally_; }

 private:
  std::string work_;
  testing::RdsSimProcess& sim_;
  std::unique_ptr<testing::DriverProcess> driver_;
  StatusTally tally_;
};

// The fixture of the reliability tests: rds-sim on loopback and a harness for the controller,
// both in a fresh TempDir. The test starts the driver (harness_->startDriver).
class RdsHarnessTest : public ::testing::Test {
 protected:
  // Starts rds-sim and makes the harness; fails (fatally) when not root, as the controller
  // keeps its state like in production. Call with ASSERT_NO_FATAL_FAILURE from SetUp.
  void startSim();
  // After a failed test prints the last `driverLogTail` bytes of the driver's log (all of it by
  // default) and, with `withSimLog`, the simulator's; then stops both.
  void stopAll(std::size_t driverLogTail = std::string::npos, bool withSimLog = true);

  testing::TempDir work_;
  std::unique_ptr<testing::RdsSimProcess> sim_;
  std::unique_ptr<RdsDriverHarness> harness_;
};

// What the simulated RDS holds. Each opens SSH connections to the simulator; run them only
// while no fault is armed.
// The volume's export allow-list, sorted.
std::vector<std::string> allowedHosts(const testing::RdsSimProcess& sim, const std::string& slot);
// Every disk slot starting with `pvc-`.
std::set<std::string> volumeSlots(const testing::RdsSimProcess& sim);
// Every `.img` file in the simulator's pools, relative to its state directory.
std::set<std::string> imageFiles(const testing::RdsSimProcess& sim);

// The attachment invariant, asserted with GoogleTest (call it from a test; faults off): the
// controller reports exactly `nodes` for `volume`, the RDS export's allow-list holds exactly
// their host NQNs (the fencing placeholder when none), and the volume's disk exists once.
// `when` names the moment in failure messages.
void expectHeldBy(RdsDriverHarness& harness, const testing::RdsSimProcess& sim,
                  const csi::v1::Volume& volume, const std::vector<TestNode>& nodes,
                  const std::string& when);

// How many faults of each kind the simulator reports having injected ("fail", "disk-full",
// "drop-before", "drop-reply", "hold"), read from its log.
std::map<std::string, int> faultsInjected(const testing::RdsSimProcess& sim);

}  // namespace polycsi::reliability
