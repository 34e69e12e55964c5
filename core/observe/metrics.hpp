// The driver's Prometheus metrics: RPC outcomes and latencies, attachment counts, the
// migration families ("<prefix>_migration_*", one set per plugin metrics prefix; their use in
// docs/kubevirt-migration.md, "Monitoring")
// and whatever gauges and counters plugins report through the host API.
//
// Rendered in the Prometheus text format by render(); core/observe/http_endpoint serves it.
// THREADING: every member is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace polycsi::observe {

// Values of the `result` label of <prefix>_migration_migrations_total.
inline constexpr const char* kMigrationResultSuccess = "success";
inline constexpr const char* kMigrationResultTimeout = "timeout";
inline constexpr const char* kMigrationResultFailed = "failed";

// Values of the `state` label of polycsi_attachments.
inline constexpr const char* kAttachmentStateAttached = "attached";
inline constexpr const char* kAttachmentStateMigrating = "migrating";

class Metrics : public plugin_host::PluginMetricsSink {
 public:
  // Creates the registry with the fixed families (polycsi_operations_total,
  // polycsi_operation_duration_seconds, polycsi_attachments).
  Metrics();
  ~Metrics() override;
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Counts one finished CSI call and observes its latency:
  // polycsi_operations_total{method,code,backend} (+1; code is the gRPC name, e.g. "OK") and
  // polycsi_operation_duration_seconds{method,backend}. `backend` may be empty when the call
  // was refused before a backend was chosen.
  void recordOperation(const std::string& method, polycsi::Code code, const std::string& backend,
                       double seconds);

  // Creates the migration families of a plugin metrics prefix (e.g. "rds_csi"):
  //   <prefix>_migration_active_migrations                 gauge, 0
  //   <prefix>_migration_migrations_total{result}          counter, success/timeout/failed = 0
  //   <prefix>_migration_migration_duration_seconds        histogram, 1 s .. 3600 s
  // Idempotent. An invalid prefix (not a Prometheus metric name) is logged and ignored.
  void registerPrefix(const std::string& prefix);

  // Migration families of `prefix` (registered on first use). Unknown results are refused with
  // a warning; `seconds` below zero are clamped to zero.
  void setActiveMigrations(const std::string& prefix, double count);
  void countMigration(const std::string& prefix, const std::string& result);
  void observeMigrationDuration(const std::string& prefix, double seconds);

  // polycsi_attachments{backend,state}: number of volumes of `backend` in `state`
  // (kAttachmentStateAttached or kAttachmentStateMigrating).
  void setAttachments(const std::string& backend, const std::string& state, double volumes);

  // PluginMetricsSink: plugin-reported series, by full metric name and the labels given.
  // Families are created on first use. A name or label name outside Prometheus' charset, a
  // name already used by a family of another type, or a negative counter delta is dropped
  // with a warning (once per metric name).
  void gaugeSet(const std::string& name, const StringMap& labels, double value) override;
  void counterAdd(const std::string& name, const StringMap& labels, double delta) override;

  // Every family in the Prometheus text exposition format (version 0.0.4).
  std::string render() const;

 private:
  struct PrefixFamilies;

  PrefixFamilies* prefixFamilies(const std::string& prefix);  // requires mu_; null if invalid
  bool checkDynamic(const std::string& name, const StringMap& labels);  // requires mu_
  void warnOnce(const std::string& name, const std::string& why);       // requires mu_

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* operations_;
  prometheus::Family<prometheus::Histogram>* operationDuration_;
  prometheus::Family<prometheus::Gauge>* attachments_;

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<PrefixFamilies>> prefixes_;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*> dynamicGauges_;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> dynamicCounters_;
  std::set<std::string> warned_;
};

}  // namespace polycsi::observe
