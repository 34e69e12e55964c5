// The RPC sequences of the `polycsictl bench` scenarios, spoken in plain CSI so they run
// against any CSI driver. Which optional steps run (ControllerPublish, NodeStage) follows the
// capabilities the driver advertises, as a CO would do.
//
// THREADING: ScenarioRunner::runOnce may be called from many threads at once, each with its
// own volume name and recorder.
#pragma once

#include <string>

#include "bench_plan.hpp"
#include "bench_recorder.hpp"
#include "csi_connection.hpp"

namespace polycsi::csictl {

// What the benchmark learned from the driver before it starts measuring.
struct DriverFacts {
  std::string name;                 // GetPluginInfo name
  std::string version;              // GetPluginInfo vendor_version
  std::string node_id;              // --node-id, or NodeGetInfo's node_id
  bool controller_publish = false;  // PUBLISH_UNPUBLISH_VOLUME advertised
  bool node_stage = false;          // STAGE_UNSTAGE_VOLUME advertised
};

// Asks the driver what the plan's scenarios need: GetPluginInfo always; the controller's
// capabilities for create-delete, lifecycle and migration (CREATE_DELETE_VOLUME is required,
// PUBLISH_UNPUBLISH_VOLUME too for migration); the node's capabilities and, unless --node-id was
// given, its id for lifecycle and migration. Throws std::runtime_error naming the RPC that
// failed or the capability that is missing.
DriverFacts discoverDriverFacts(CsiConnection& node, CsiConnection& controller,
                                const BenchPlan& plan);

class ScenarioRunner {
 public:
  // `node_dir` is an existing directory the node service can reach at the same path; the
  // lifecycle scenario creates and removes one directory per volume in it. All references must
  // outlive the runner.
  ScenarioRunner(CsiConnection& node, CsiConnection& controller, const BenchPlan& plan,
                 const DriverFacts& facts, std::string node_dir);

  // Runs `scenario` once with a volume named `volume_name` (unique per call), recording each
  // RPC in `recorder`. When a step fails, the steps already done are undone (unmeasured, best
  // effort) so nothing is left behind, and false is returned.
  bool runOnce(BenchScenario scenario, const std::string& volume_name,
               CallRecorder& recorder) const;

 private:
  bool probe(CallRecorder& recorder) const;
  bool createDelete(const std::string& name, CallRecorder& recorder) const;
  bool lifecycle(const std::string& name, CallRecorder& recorder) const;
  bool migration(const std::string& name, CallRecorder& recorder) const;

  CsiConnection& node_;
  CsiConnection& controller_;
  const BenchPlan& plan_;
  const DriverFacts& facts_;
  std::string node_dir_;
};

}  // namespace polycsi::csictl
