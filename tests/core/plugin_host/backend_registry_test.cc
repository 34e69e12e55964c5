// BackendRegistry against real fixture plugins (see fixtures/).
#include "plugin_host/backend_registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "config/driver_config.hpp"
#include "temp_directory.hpp"

namespace polycsi::plugin_host {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kPluginDir = POLYCSI_TEST_PLUGIN_DIR;

struct RecordedMetric {
  std::string kind;
  std::string name;
  StringMap labels;
  double value;
};

class RecordingSink : public PluginMetricsSink {
 public:
  void gaugeSet(const std::string& name, const StringMap& labels, double value) override {
    std::lock_guard<std::mutex> lock(mu_);
    metrics_.push_back({"gauge", name, labels, value});
  }
  void counterAdd(const std::string& name, const StringMap& labels, double delta) override {
    std::lock_guard<std::mutex> lock(mu_);
    metrics_.push_back({"counter", name, labels, delta});
  }
  std::vector<RecordedMetric> metrics() const {
    std::lock_guard<std::mutex> lock(mu_);
    return metrics_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<RecordedMetric> metrics_;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class BackendRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previousLogger_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(logs_));
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  void TearDown() override { spdlog::set_default_logger(previousLogger_); }

  config::DriverConfig configWith(const std::string& backends) {
    return config::parseConfig("state_path: " + statePath_.str() + "\nbackends:\n" + backends)
        .value();
  }
  fs::path aliveFile(const std::string& backend) const {
    return statePath_.path() / "backends" / backend / "alive";
  }
  std::string logs() {
    spdlog::default_logger()->flush();
    return logs_.str();
  }

  polycsi::testing::TempDir statePath_{"polycsi-registry"};
  std::ostringstream logs_;
  std::shared_ptr<spdlog::logger> previousLogger_;
};

const char kTwoGoodBackends[] =
    "  - name: alpha\n"
    "    plugin: good\n"
    "    settings: {address: 10.0.0.1, port: 22, token: tok-123, pools: [p1, p2]}\n"
    "  - name: beta\n"
    "    plugin: good\n"
    "    default: true\n"
    "    settings: {address: 10.0.0.2, verbose: true}\n";

TEST_F(BackendRegistryTest, StartsTwoBackendsOfTheSamePlugin) {
  RecordingSink sink;
  {
    BackendRegistry registry;
    Status status =
        registry.start(configWith(kTwoGoodBackends), kPluginDir, Role::kController, &sink);
    ASSERT_TRUE(status.isOk()) << status.toString();

    auto all = registry.all();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0]->name(), "alpha");
    EXPECT_EQ(all[1]->name(), "beta");
    EXPECT_EQ(registry.find("alpha"), all[0]);
    EXPECT_EQ(registry.find("gamma"), nullptr);
    EXPECT_EQ(registry.defaultBackend(), all[1]);
    // The file was loaded once and is shared by both instances.
    EXPECT_EQ(&all[0]->plugin(), &all[1]->plugin());
    EXPECT_EQ(all[0]->descriptor().name, "good");

    // Each instance got its own state directory, its settings and the role.
    const std::string alpha = readFile(aliveFile("alpha"));
    EXPECT_THAT(alpha, HasSubstr("role=1\n"));
    EXPECT_THAT(alpha, HasSubstr("address=10.0.0.1\n"));
    EXPECT_THAT(alpha, HasSubstr(R"("pools":["p1","p2"])"));
    EXPECT_THAT(readFile(aliveFile("beta")), HasSubstr("address=10.0.0.2\n"));

    // The instances answer calls.
    auto volume = all[1]->instance().createVolume(CreateVolumeRequest{.name = "pvc-1"});
    ASSERT_TRUE(volume.isOk()) << volume.status().toString();
    EXPECT_EQ(volume->id, "vol-pvc-1");
  }
  // Destroying the registry shut both instances down.
  EXPECT_FALSE(fs::exists(aliveFile("alpha")));
  EXPECT_FALSE(fs::exists(aliveFile("beta")));
}

TEST_F(BackendRegistryTest, PluginLogsNameTheBackendAndHideSecrets) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.start(configWith(kTwoGoodBackends), kPluginDir, Role::kAll, nullptr).isOk());
  const std::string text = logs();
  EXPECT_THAT(text, HasSubstr("[backend alpha] connecting to 10.0.0.1 with token ***"));
  EXPECT_THAT(text, HasSubstr("[backend beta] connecting to 10.0.0.2 with token"));
  EXPECT_THAT(text, Not(HasSubstr("tok-123")));
}

TEST_F(BackendRegistryTest, PluginMetricsArePrefixed) {
  RecordingSink sink;
  BackendRegistry registry;
  ASSERT_TRUE(registry
                  .start(configWith("  - {name: alpha, plugin: good, settings: {address: a}}\n"),
                         kPluginDir, Role::kNode, &sink)
                  .isOk());
  auto metrics = sink.metrics();
  // The fixture also sets "bad-name", which is no Prometheus name and never reaches the sink.
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[0].kind, "gauge");
  EXPECT_EQ(metrics[0].name, "fixture_good_instances");
  EXPECT_EQ(metrics[0].labels, (StringMap{{"backend", "alpha"}}));
  EXPECT_EQ(metrics[0].value, 1);
  EXPECT_EQ(metrics[1].kind, "counter");
  EXPECT_EQ(metrics[1].name, "fixture_good_inits_total");
  EXPECT_THAT(logs(), HasSubstr("dropped metric with invalid name 'bad-name'"));
  EXPECT_THAT(readFile(aliveFile("alpha")), HasSubstr("role=2\n"));
}

TEST_F(BackendRegistryTest, TheOnlyBackendIsTheDefault) {
  BackendRegistry registry;
  ASSERT_TRUE(registry
                  .start(configWith("  - {name: solo, plugin: good, settings: {address: a}}\n"),
                         kPluginDir, Role::kAll, nullptr)
                  .isOk());
  ASSERT_NE(registry.defaultBackend(), nullptr);
  EXPECT_EQ(registry.defaultBackend()->name(), "solo");
}

TEST_F(BackendRegistryTest, NoDefaultAmongSeveralUnmarked) {
  BackendRegistry registry;
  ASSERT_TRUE(registry
                  .start(configWith("  - {name: a, plugin: good, settings: {address: a}}\n"
                                    "  - {name: b, plugin: good, settings: {address: b}}\n"),
                         kPluginDir, Role::kAll, nullptr)
                  .isOk());
  EXPECT_EQ(registry.defaultBackend(), nullptr);
}

TEST_F(BackendRegistryTest, BadSettingsNameTheBackendAndStartNothing) {
  BackendRegistry registry;
  Status status =
      registry.start(configWith("  - {name: alpha, plugin: good, settings: "
                                "{address: a}}\n"
                                "  - {name: beta, plugin: good, settings: {port: x}}\n"),
                     kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "backends[1] (beta): settings.address: required; "
            "backends[1] (beta): settings.port: must be an integer, got 'x'");
  EXPECT_TRUE(registry.all().empty());
  EXPECT_FALSE(fs::exists(aliveFile("alpha")));
  EXPECT_THAT(logs(), Not(HasSubstr("[backend alpha]")));
}

TEST_F(BackendRegistryTest, AnInitFailureShutsDownWhatAlreadyStarted) {
  BackendRegistry registry;
  Status status =
      registry.start(configWith("  - {name: alpha, plugin: good, settings: {address: a}}\n"
                                "  - {name: beta, plugin: init_failure}\n"),
                     kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(status.message(), "backends[1] (beta): storage system at 192.0.2.1 refused the login");
  // alpha had started (it logged) and was shut down again (its file is gone).
  EXPECT_THAT(logs(), HasSubstr("[backend alpha] connecting to a"));
  EXPECT_FALSE(fs::exists(aliveFile("alpha")));
  EXPECT_TRUE(registry.all().empty());
  EXPECT_EQ(registry.find("alpha"), nullptr);
  EXPECT_EQ(registry.defaultBackend(), nullptr);
}

TEST_F(BackendRegistryTest, AThrowingConstructorBecomesInternal) {
  BackendRegistry registry;
  Status status = registry.start(configWith("  - {name: boom, plugin: throwing_ctor}\n"),
                                 kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kInternal);
  EXPECT_EQ(status.message(), "backends[0] (boom): plugin error: constructor exploded");
}

TEST_F(BackendRegistryTest, AThrowingCallBecomesInternalAndThePluginKeepsWorking) {
  BackendRegistry registry;
  ASSERT_TRUE(registry
                  .start(configWith("  - {name: flaky, plugin: throwing_create}\n"), kPluginDir,
                         Role::kAll, nullptr)
                  .isOk());
  const PluginInstance& instance = registry.find("flaky")->instance();
  auto volume = instance.createVolume(CreateVolumeRequest{.name = "pvc-1"});
  ASSERT_FALSE(volume.isOk());
  EXPECT_EQ(volume.status().code(), Code::kInternal);
  EXPECT_EQ(volume.status().message(), "plugin error: disk pool vanished");
  auto identity = instance.nodeIdentity(Call{});
  ASSERT_TRUE(identity.isOk()) << identity.status().toString();
  EXPECT_EQ(*identity, "fixture-host");
}

TEST_F(BackendRegistryTest, AMissingPluginNamesTheBackendAndTheFile) {
  BackendRegistry registry;
  Status status = registry.start(configWith("  - {name: a, plugin: nowhere}\n"), kPluginDir,
                                 Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "backends[0] (a): plugin " + pluginPath(kPluginDir, "nowhere") + ": no such file");
}

TEST_F(BackendRegistryTest, ABrokenPluginNamesTheBackendTheFileAndTheReason) {
  BackendRegistry registry;
  Status status = registry.start(configWith("  - {name: a, plugin: good, settings: {address: a}}\n"
                                            "  - {name: old, plugin: abi_major}\n"),
                                 kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("backends[1] (old): plugin " + pluginPath(kPluginDir, "abi_major") +
                        ": plugin ABI 2.0 is incompatible with host ABI 1.4"));
  EXPECT_FALSE(fs::exists(aliveFile("a")));
}

TEST_F(BackendRegistryTest, RefusesToStartTwice) {
  BackendRegistry registry;
  auto config = configWith("  - {name: a, plugin: good, settings: {address: a}}\n");
  ASSERT_TRUE(registry.start(config, kPluginDir, Role::kAll, nullptr).isOk());
  Status again = registry.start(config, kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(again.code(), Code::kFailedPrecondition);
  EXPECT_EQ(registry.all().size(), 1u);
  EXPECT_TRUE(fs::exists(aliveFile("a")));
}

TEST_F(BackendRegistryTest, AnUnwritableStatePathIsReported) {
  auto config = configWith("  - {name: a, plugin: good, settings: {address: a}}\n");
  // A file where the backends directory should go.
  std::ofstream(statePath_.path() / "backends") << "not a directory";
  BackendRegistry registry;
  Status status = registry.start(config, kPluginDir, Role::kAll, nullptr);
  EXPECT_EQ(status.code(), Code::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("backends[0] (a): cannot create state directory " +
                                          statePath_.str() + "/backends/a"));
}

}  // namespace
}  // namespace polycsi::plugin_host
