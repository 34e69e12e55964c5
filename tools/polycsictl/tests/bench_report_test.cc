#include "bench_report.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "bench_recorder.hpp"

namespace polycsi::csictl {
namespace {

grpc::Status ok() { return grpc::Status::OK; }

TEST(CallRecorder, KeepsStepsInFirstRunOrderAndSeparatesErrors) {
  CallRecorder recorder;
  recorder.time("CreateVolume", ok);
  recorder.time("DeleteVolume", ok);
  recorder.time("CreateVolume",
                [] { return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "pool full"); });
  ASSERT_EQ(recorder.steps().size(), 2u);
  EXPECT_EQ(recorder.steps()[0].step, "CreateVolume");
  EXPECT_EQ(recorder.steps()[0].latencies_ms.size(), 1u) << "a failed call has no latency";
  EXPECT_EQ(recorder.steps()[0].errors, 1);
  EXPECT_EQ(recorder.steps()[0].first_error, "RESOURCE_EXHAUSTED: pool full");
  EXPECT_EQ(recorder.steps()[1].step, "DeleteVolume");
}

TEST(CallRecorder, MergeAddsSamplesAndKeepsTheFirstError) {
  CallRecorder a, b;
  a.time("Probe", ok);
  b.time("Probe", ok);
  b.time("Probe", [] { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"); });
  b.time("NodeGetInfo", ok);
  a.merge(b);
  ASSERT_EQ(a.steps().size(), 2u);
  EXPECT_EQ(a.steps()[0].latencies_ms.size(), 2u);
  EXPECT_EQ(a.steps()[0].errors, 1);
  EXPECT_EQ(a.steps()[0].first_error, "UNAVAILABLE: gone");
  EXPECT_EQ(a.steps()[1].step, "NodeGetInfo");
}

BenchReport sampleReport() {
  BenchReport report;
  report.endpoint = "unix:///run/csi.sock";
  report.controller_endpoint = report.endpoint;
  report.driver.name = "polycsi.csi.io";
  report.plan = buildBenchPlan(BenchFlags());
  LevelResult probe;
  probe.scenario = BenchScenario::kProbe;
  probe.concurrency = 1;
  probe.iterations = 4;
  probe.wall_seconds = 2.0;
  probe.steps = {StepSamples{"Probe", {0.2, 0.1, 0.3, 0.4}, 0, ""}};
  LevelResult create;
  create.scenario = BenchScenario::kCreateDelete;
  create.concurrency = 1;
  create.iterations = 3;
  create.failed_iterations = 1;
  create.wall_seconds = 0.5;
  create.steps = {StepSamples{"CreateVolume", {0.6, 0.2}, 1, "INTERNAL: disk"},
                  StepSamples{"DeleteVolume", {0.1, 0.1}, 0, ""}};
  LevelResult unmatched;  // no probe ran at concurrency 8
  unmatched.scenario = BenchScenario::kCreateDelete;
  unmatched.concurrency = 8;
  unmatched.iterations = 1;
  unmatched.wall_seconds = 1.0;
  unmatched.steps = {StepSamples{"CreateVolume", {1.0}, 0, ""}};
  report.levels = {probe, create, unmatched};
  return report;
}

TEST(BenchReportJson, HasTheShapeScriptsRead) {
  const nlohmann::ordered_json json = benchReportJson(sampleReport());
  EXPECT_EQ(json["tool"], "polycsictl bench");
  EXPECT_EQ(json["driver"]["name"], "polycsi.csi.io");
  EXPECT_EQ(json["settings"]["concurrency"], nlohmann::ordered_json::array({1, 8, 64}));
  ASSERT_EQ(json["levels"].size(), 3u);
  const auto& probe = json["levels"][0];
  EXPECT_EQ(probe["scenario"], "probe");
  EXPECT_EQ(probe["rpcs"][0]["rpc"], "Probe");
  EXPECT_EQ(probe["rpcs"][0]["calls"], 4);
  EXPECT_DOUBLE_EQ(probe["rpcs"][0]["calls_per_second"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(probe["rpcs"][0]["latency_ms"]["p50"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(probe["rpcs"][0]["latency_ms"]["max"].get<double>(), 0.4);
  EXPECT_DOUBLE_EQ(probe["rpcs"][0]["p50_over_probe_p50"].get<double>(), 1.0);
}

TEST(BenchReportJson, ComparesWithTheProbeAtTheSameConcurrencyOnly) {
  const nlohmann::ordered_json json = benchReportJson(sampleReport());
  const auto& create = json["levels"][1];
  EXPECT_EQ(create["failed_iterations"], 1);
  EXPECT_DOUBLE_EQ(create["iterations_per_second"].get<double>(), 4.0);  // 2 good in 0.5 s
  EXPECT_EQ(create["rpcs"][0]["errors"], 1);
  EXPECT_EQ(create["rpcs"][0]["first_error"], "INTERNAL: disk");
  // CreateVolume p50 is 0.2 ms (nearest rank of {0.2, 0.6}), the probe's 0.2 ms.
  EXPECT_DOUBLE_EQ(create["rpcs"][0]["p50_over_probe_p50"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(create["rpcs"][1]["p50_over_probe_p50"].get<double>(), 0.5);
  EXPECT_TRUE(json["levels"][2]["rpcs"][0]["p50_over_probe_p50"].is_null());
}

TEST(PrintBenchTable, OneRowPerRpcAndTheErrorsBelow) {
  std::ostringstream out;
  printBenchTable(sampleReport(), out);
  const std::string text = out.str();
  EXPECT_NE(text.find("SCENARIO"), std::string::npos);
  EXPECT_NE(text.find("create-delete  1     CreateVolume"), std::string::npos) << text;
  EXPECT_NE(text.find("error: create-delete at concurrency 1: CreateVolume failed 1x, first: "
                      "INTERNAL: disk"),
            std::string::npos)
      << text;
  EXPECT_TRUE(benchHadErrors(sampleReport()));
}

}  // namespace
}  // namespace polycsi::csictl
