// A fake polycsi host for plugin unit tests: runs a plugin's function table in-process, without
// the polycsi core, and records what the plugin logs and which metrics it sets.
//
//   polycsi::testing::FakeHost host;
//   auto backend = host.start(polycsi_plugin_entry(), {.instanceName = "t", .settings = {...}});
//   ASSERT_TRUE(backend.isOk()) << backend.status().toString();
//   auto vol = (*backend)->createVolume({.name = "pvc-1", .requiredBytes = 1 << 20});
//
// Header-only. THREADING: the recorders are guarded by a mutex; plugins may log from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "polycsi/plugin_abi.h"
#include "polycsi/plugin_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::testing {

struct LogLine {
  polycsi_log_level level;
  std::string message;
};

class FakeHost {
 public:
  FakeHost() {
    api_.struct_size = sizeof(polycsi_host_api);
    api_.abi_major = POLYCSI_ABI_VERSION_MAJOR;
    api_.abi_minor = POLYCSI_ABI_VERSION_MINOR;
    api_.host_ctx = this;
    api_.log = &FakeHost::onLog;
    api_.gauge_set = &FakeHost::onGauge;
    api_.counter_add = &FakeHost::onCounter;
  }
  FakeHost(const FakeHost&) = delete;
  FakeHost& operator=(const FakeHost&) = delete;

  // Checks the table as the real host does, runs the plugin's check_settings (ABI 1.2) as the
  // host does before init, then creates an instance. The FakeHost must outlive the instance.
  StatusOr<std::unique_ptr<PluginInstance>> start(const polycsi_plugin_api* table,
                                                  const InstanceConfig& config) {
    std::string problem = checkPluginTable(table, "plugin under test");
    if (!problem.empty()) return Status(Code::kFailedPrecondition, problem);
    if (Status checked = PluginInstance::checkSettings(table, config); !checked.isOk())
      return checked;
    return PluginInstance::create(table, &api_, config);
  }

  // The host table the plugin's calls reach (for polycsi/testing/start_backend.hpp). Valid
  // while the FakeHost lives.
  const polycsi_host_api* hostApi() const { return &api_; }

  // The plugin's descriptor, as the host sees it. Throws std::runtime_error with the plugin's
  // describe_error text when describe() returns NULL.
  static Descriptor describe(const polycsi_plugin_api* table) {
    const polycsi_plugin_api widened = widenPluginTable(table);
    const polycsi_descriptor* d = widened.describe();
    if (d == nullptr) throw std::runtime_error("plugin under test: " + describeFailure(widened));
    return abi::toDescriptor(*d, table->abi_minor);
  }

  std::vector<LogLine> logs() const {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }
  // True when any log line contains `needle`.
  bool logged(const std::string& needle) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : logs_)
      if (l.message.find(needle) != std::string::npos) return true;
    return false;
  }
  // Last value of a gauge (key: "name{k=v,...}"), or -1 when never set.
  double gauge(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = gauges_.find(key);
    return it == gauges_.end() ? -1 : it->second;
  }
  // Sum of a counter (key: "name{k=v,...}"), 0 when never added to.
  double counter(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = counters_.find(key);
    return it == counters_.end() ? 0 : it->second;
  }

  // The key under which a metric is recorded: name{k1=v1,k2=v2} with keys sorted.
  static std::string metricKey(const std::string& name, const StringMap& labels) {
    std::string key = name + "{";
    bool first = true;
    for (const auto& [k, v] : labels) {
      key += (first ? "" : ",") + k + "=" + v;
      first = false;
    }
    return key + "}";
  }

 private:
  static FakeHost* self(void* ctx) { return static_cast<FakeHost*>(ctx); }
  static void onLog(void* ctx, polycsi_log_level level, polycsi_str message) {
    std::lock_guard<std::mutex> lock(self(ctx)->mu_);
    self(ctx)->logs_.push_back(LogLine{level, abi::toString(message)});
  }
  static void onGauge(void* ctx, polycsi_str name, polycsi_kv_list labels, double value) {
    std::lock_guard<std::mutex> lock(self(ctx)->mu_);
    self(ctx)->gauges_[metricKey(abi::toString(name), abi::toMap(labels))] = value;
  }
  static void onCounter(void* ctx, polycsi_str name, polycsi_kv_list labels, double delta) {
    std::lock_guard<std::mutex> lock(self(ctx)->mu_);
    self(ctx)->counters_[metricKey(abi::toString(name), abi::toMap(labels))] += delta;
  }

  polycsi_host_api api_{};
  mutable std::mutex mu_;
  std::vector<LogLine> logs_;
  std::map<std::string, double> gauges_;
  std::map<std::string, double> counters_;
};

}  // namespace polycsi::testing
