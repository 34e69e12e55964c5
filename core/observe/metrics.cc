#include "observe/metrics.hpp"

#include <prometheus/check_names.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string_view>

namespace polycsi::observe {
namespace {

// RPC latencies: from a cached answer (1 ms) to a slow storage system (60 s).
const prometheus::Histogram::BucketBoundaries kOperationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

// Migration durations: seconds for a small VM up to the 3600 s maximum window.
const prometheus::Histogram::BucketBoundaries kMigrationBuckets = {
    1, 5, 10, 15, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600};

constexpr std::array<const char*, 3> kMigrationResults = {
    kMigrationResultSuccess, kMigrationResultTimeout, kMigrationResultFailed};

constexpr std::string_view kActiveSuffix = "_migration_active_migrations";
constexpr std::string_view kTotalSuffix = "_migration_migrations_total";
constexpr std::string_view kDurationSuffix = "_migration_migration_duration_seconds";

bool endsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Names the core owns: a plugin reporting one of them would corrupt the core's series.
bool isCoreMetricName(std::string_view name) {
  if (name.rfind("polycsi_", 0) == 0) return true;
  if (endsWith(name, kActiveSuffix) || endsWith(name, kTotalSuffix)) return true;
  for (std::string_view histogramPart : {"", "_bucket", "_sum", "_count"}) {
    std::string full = std::string(kDurationSuffix) + std::string(histogramPart);
    if (endsWith(name, full)) return true;
  }
  return false;
}

prometheus::Labels toLabels(const StringMap& labels) {
  return prometheus::Labels(labels.begin(), labels.end());
}

}  // namespace

struct Metrics::PrefixFamilies {
  prometheus::Gauge* active = nullptr;
  prometheus::Family<prometheus::Counter>* totals = nullptr;
  prometheus::Histogram* duration = nullptr;
};

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  operations_ = &prometheus::BuildCounter()
                     .Name("polycsi_operations_total")
                     .Help("CSI calls answered, by method, gRPC code and backend.")
                     .Register(*registry_);
  operationDuration_ = &prometheus::BuildHistogram()
                            .Name("polycsi_operation_duration_seconds")
                            .Help("Time to answer a CSI call, by method and backend.")
                            .Register(*registry_);
  attachments_ = &prometheus::BuildGauge()
                      .Name("polycsi_attachments")
                      .Help("Attached volumes, by backend and state (attached, migrating).")
                      .Register(*registry_);
}

Metrics::~Metrics() = default;

void Metrics::recordOperation(const std::string& method, polycsi::Code code,
                              const std::string& backend, double seconds) {
  operations_->Add({{"method", method}, {"code", codeName(code)}, {"backend", backend}})
      .Increment();
  operationDuration_->Add({{"method", method}, {"backend", backend}}, kOperationBuckets)
      .Observe(std::max(0.0, seconds));
}

void Metrics::registerPrefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  prefixFamilies(prefix);
}

Metrics::PrefixFamilies* Metrics::prefixFamilies(const std::string& prefix) {
  if (auto it = prefixes_.find(prefix); it != prefixes_.end()) return it->second.get();
  if (!prometheus::CheckMetricName(prefix + std::string(kActiveSuffix))) {
    warnOnce(prefix, "metrics prefix \"" + prefix +
                         "\" is not a valid Prometheus name; migration metrics dropped");
    return nullptr;
  }
  auto families = std::make_unique<PrefixFamilies>();
  families->active = &prometheus::BuildGauge()
                          .Name(prefix + std::string(kActiveSuffix))
                          .Help("Volumes currently attached to two nodes for a live migration.")
                          .Register(*registry_)
                          .Add({});
  families->totals = &prometheus::BuildCounter()
                          .Name(prefix + std::string(kTotalSuffix))
                          .Help("Finished live migrations by result (success, timeout, failed).")
                          .Register(*registry_);
  for (const char* result : kMigrationResults) families->totals->Add({{"result", result}});
  families->duration = &prometheus::BuildHistogram()
                            .Name(prefix + std::string(kDurationSuffix))
                            .Help("Duration of successful live migrations, in seconds.")
                            .Register(*registry_)
                            .Add({}, kMigrationBuckets);
  return prefixes_.emplace(prefix, std::move(families)).first->second.get();
}

void Metrics::setActiveMigrations(const std::string& prefix, double count) {
  std::lock_guard lock(mu_);
  if (PrefixFamilies* families = prefixFamilies(prefix)) families->active->Set(count);
}

void Metrics::countMigration(const std::string& prefix, const std::string& result) {
  if (std::find_if(kMigrationResults.begin(), kMigrationResults.end(),
                   [&](const char* known) { return result == known; }) == kMigrationResults.end()) {
    spdlog::warn("metrics: unknown migration result \"{}\" ignored", result);
    return;
  }
  std::lock_guard lock(mu_);
  if (PrefixFamilies* families = prefixFamilies(prefix)) {
    families->totals->Add({{"result", result}}).Increment();
  }
}

void Metrics::observeMigrationDuration(const std::string& prefix, double seconds) {
  std::lock_guard lock(mu_);
  if (PrefixFamilies* families = prefixFamilies(prefix)) {
    families->duration->Observe(std::max(0.0, seconds));
  }
}

void Metrics::setAttachments(const std::string& backend, const std::string& state, double volumes) {
  attachments_->Add({{"backend", backend}, {"state", state}}).Set(volumes);
}

void Metrics::warnOnce(const std::string& name, const std::string& why) {
  if (warned_.insert(name).second) spdlog::warn("metrics: {}", why);
}

bool Metrics::checkDynamic(const std::string& name, const StringMap& labels) {
  if (!prometheus::CheckMetricName(name)) {
    warnOnce(name, "plugin metric \"" + name + "\" is not a valid Prometheus metric name; dropped");
    return false;
  }
  if (isCoreMetricName(name)) {
    warnOnce(name, "plugin metric \"" + name + "\" collides with a core metric name; dropped");
    return false;
  }
  for (const auto& [label, value] : labels) {
    if (!prometheus::CheckLabelName(label) || label == "le" || label == "quantile") {
      warnOnce(name,
               "plugin metric \"" + name + "\" has invalid label name \"" + label + "\"; dropped");
      return false;
    }
  }
  return true;
}

void Metrics::gaugeSet(const std::string& name, const StringMap& labels, double value) {
  std::lock_guard lock(mu_);
  if (!checkDynamic(name, labels)) return;
  auto it = dynamicGauges_.find(name);
  if (it == dynamicGauges_.end()) {
    if (dynamicCounters_.count(name) != 0) {
      warnOnce(name, "plugin metric \"" + name + "\" is already a counter; gauge value dropped");
      return;
    }
    auto& family =
        prometheus::BuildGauge().Name(name).Help("Reported by a plugin.").Register(*registry_);
    it = dynamicGauges_.emplace(name, &family).first;
  }
  it->second->Add(toLabels(labels)).Set(value);
}

void Metrics::counterAdd(const std::string& name, const StringMap& labels, double delta) {
  std::lock_guard lock(mu_);
  if (!checkDynamic(name, labels)) return;
  if (delta < 0) {
    warnOnce(name, "plugin counter \"" + name + "\" got a negative delta; dropped");
    return;
  }
  auto it = dynamicCounters_.find(name);
  if (it == dynamicCounters_.end()) {
    if (dynamicGauges_.count(name) != 0) {
      warnOnce(name, "plugin metric \"" + name + "\" is already a gauge; counter delta dropped");
      return;
    }
    auto& family =
        prometheus::BuildCounter().Name(name).Help("Reported by a plugin.").Register(*registry_);
    it = dynamicCounters_.emplace(name, &family).first;
  }
  it->second->Add(toLabels(labels)).Increment(delta);
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace polycsi::observe
