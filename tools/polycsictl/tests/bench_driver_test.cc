// polycsictl bench against a real `polycsi serve` with the sample plugin: every scenario at two
// concurrency levels for a handful of iterations. Checks the report's shape and counts, never
// its timings, and that the run leaves no volume, attachment, mount or directory behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "driver_process.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {
namespace {

// Runs polycsictl with `args`, stdout and stderr captured separately.
CommandResult runPolycsictl(const std::vector<std::string>& args) {
  return runProgram(POLYCSICTL_BINARY, args, {.timeout = std::chrono::minutes(5)});
}

class BenchDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "run as root (the sample plugin's node side uses loop devices)";
    driver_ = std::make_unique<DriverProcess>(
        work_.str(),
        "backends:\n  - name: local\n    plugin: sample\n    default: true\n"
        "    settings:\n      directory: " +
            work_.str() + "/volumes\n");
    driver_->start();
    std::filesystem::create_directories(nodeDir());
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "driver log:\n" << driver_->log();
  }
  std::string endpoint() const { return "unix://" + work_.str() + "/csi.sock"; }
  std::string nodeDir() const { return work_.str() + "/node"; }

  TempDir work_;
  std::unique_ptr<DriverProcess> driver_;
};

// The steps each scenario reports, in order.
const std::map<std::string, std::vector<std::string>> kSteps = {
    {"probe", {"Probe"}},
    {"create-delete", {"CreateVolume", "DeleteVolume"}},
    {"lifecycle",
     {"CreateVolume", "ControllerPublishVolume", "NodeStageVolume", "NodePublishVolume",
      "NodeUnpublishVolume", "NodeUnstageVolume", "ControllerUnpublishVolume", "DeleteVolume"}},
    {"migration",
     {"CreateVolume", "ControllerPublishVolume(source)", "ControllerPublishVolume(target)",
      "ControllerUnpublishVolume(source)", "ControllerUnpublishVolume(target)", "DeleteVolume"}},
};

TEST_F(BenchDriverTest, EveryScenarioAtEveryLevelCountsEachCallOnce) {
  const std::string jsonFile = work_.str() + "/report.json";
  const CommandResult ran = runPolycsictl(
      {"--endpoint", endpoint(), "--json", "bench", "--iterations", "3", "--warmup", "1",
       "--concurrency", "1,2", "--size", "16Mi", "--node-dir", nodeDir(), "--json-file", jsonFile});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output << ran.errorOutput;
  const nlohmann::json json = nlohmann::json::parse(ran.output);
  EXPECT_EQ(json, nlohmann::json::parse(std::ifstream(jsonFile))) << "--json-file differs";

  EXPECT_EQ(json["driver"]["name"], "polycsi.csi.io");
  EXPECT_TRUE(json["driver"]["controller_publish"].get<bool>());
  EXPECT_TRUE(json["driver"]["node_stage"].get<bool>());
  ASSERT_EQ(json["levels"].size(), 8u) << "4 scenarios x 2 levels";
  std::vector<std::pair<std::string, int>> order;
  for (const auto& level : json["levels"]) {
    const std::string scenario = level["scenario"];
    order.emplace_back(scenario, level["concurrency"].get<int>());
    EXPECT_EQ(level["iterations"], 3) << scenario;
    EXPECT_EQ(level["failed_iterations"], 0) << scenario;
    EXPECT_FALSE(level["stopped_early"].get<bool>());
    std::vector<std::string> steps;
    for (const auto& rpc : level["rpcs"]) {
      steps.push_back(rpc["rpc"]);
      EXPECT_EQ(rpc["calls"], 3) << scenario << " " << rpc["rpc"];
      EXPECT_EQ(rpc["errors"], 0) << scenario << " " << rpc["rpc"];
      const auto& latency = rpc["latency_ms"];
      EXPECT_GT(latency["p50"].get<double>(), 0.0);
      EXPECT_LE(latency["p50"].get<double>(), latency["p90"].get<double>());
      EXPECT_LE(latency["p90"].get<double>(), latency["p99"].get<double>());
      EXPECT_LE(latency["p99"].get<double>(), latency["max"].get<double>());
      EXPECT_TRUE(rpc["p50_over_probe_p50"].is_number()) << "the probe ran at this level";
    }
    EXPECT_EQ(steps, kSteps.at(scenario)) << scenario;
  }
  EXPECT_EQ(order.front(), std::make_pair(std::string("probe"), 1));
  EXPECT_EQ(order.back(), std::make_pair(std::string("migration"), 2));

  // Nothing left behind: no volume, no per-volume node directory.
  csi::v1::ListVolumesResponse listed;
  auto ctx = rpcContext();
  ASSERT_TRUE(driver_->controller().ListVolumes(ctx.get(), {}, &listed).ok());
  EXPECT_EQ(listed.entries_size(), 0);
  EXPECT_TRUE(std::filesystem::is_empty(nodeDir()));
}

TEST_F(BenchDriverTest, HumanTableNamesEveryRpc) {
  const CommandResult ran = runPolycsictl({"--endpoint", endpoint(), "bench", "--scenarios", "a,b",
                                           "--iterations", "2", "--concurrency", "1"});
  ASSERT_EQ(ran.exitStatus, 0) << ran.output << ran.errorOutput;
  EXPECT_NE(ran.output.find("P99"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("probe          1     Probe"), std::string::npos) << ran.output;
  EXPECT_NE(ran.output.find("create-delete  1     DeleteVolume"), std::string::npos) << ran.output;
}

TEST_F(BenchDriverTest, BadArgumentsAreUsageErrorsBeforeAnyCall) {
  const CommandResult ran =
      runPolycsictl({"--endpoint", endpoint(), "bench", "--concurrency", "0", "--scenarios", "b"});
  EXPECT_EQ(ran.exitStatus, 2);
  EXPECT_NE(ran.errorOutput.find("--concurrency: '0' is not a whole number from 1 to 1024"),
            std::string::npos)
      << ran.errorOutput;
  csi::v1::ListVolumesResponse listed;
  auto ctx = rpcContext();
  ASSERT_TRUE(driver_->controller().ListVolumes(ctx.get(), {}, &listed).ok());
  EXPECT_EQ(listed.entries_size(), 0);
}

TEST_F(BenchDriverTest, FailingCallsAreReportedAndExitOne) {
  // An unknown backend makes every CreateVolume fail; the report counts the failures and the
  // exit code shows them.
  const CommandResult ran = runPolycsictl(
      {"--endpoint", endpoint(), "--json", "bench", "--scenarios", "b", "--iterations", "4",
       "--warmup", "0", "--concurrency", "1", "--param", "backend=no-such-backend"});
  EXPECT_EQ(ran.exitStatus, 1) << ran.output << ran.errorOutput;
  const nlohmann::json json = nlohmann::json::parse(ran.output);
  const auto& level = json["levels"][0];
  EXPECT_EQ(level["failed_iterations"], 4);
  EXPECT_EQ(level["rpcs"][0]["rpc"], "CreateVolume");
  EXPECT_EQ(level["rpcs"][0]["calls"], 0);
  EXPECT_EQ(level["rpcs"][0]["errors"], 4);
  EXPECT_NE(level["rpcs"][0]["first_error"].get<std::string>().find("no-such-backend"),
            std::string::npos)
      << level;
}

}  // namespace
}  // namespace polycsi::testing
