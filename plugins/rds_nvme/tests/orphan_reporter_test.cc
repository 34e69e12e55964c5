#include "orphan_reporter.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "rds_test_env.hpp"

namespace polycsi::rds_nvme::testing {
namespace {

constexpr char kOurSnapshot[] = "snap-0123456789abcdef0123456789abcdef";

// A host API that records gauges and counters (the reporter runs without the C ABI here).
struct RecordingHost {
  static void log(void*, polycsi_log_level, polycsi_str) {}
  static void gauge(void* ctx, polycsi_str name, polycsi_kv_list, double value) {
    static_cast<RecordingHost*>(ctx)->gauges[abi::toString(name)] = value;
  }
  static void counter(void* ctx, polycsi_str name, polycsi_kv_list, double delta) {
    static_cast<RecordingHost*>(ctx)->counters[abi::toString(name)] += delta;
  }
  RecordingHost() {
    api.host_ctx = this;
    api.log = &log;
    api.gauge_set = &gauge;
    api.counter_add = &counter;
  }
  polycsi_host_api api{};
  std::map<std::string, double> gauges;
  std::map<std::string, double> counters;
};

class OrphanReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rds_.addDisk("pvc-known", "/storage-pool/v/pvc-known.img", kGiB);
    rds_.addDisk("pvc-orphan", "/storage-pool/v/pvc-orphan.img", kGiB);
    rds_.addDisk(kOurSnapshot, "/storage-pool/v/x.img", kGiB, false);
    rds_.addDisk("snap-manual", "/storage-pool/v/manual.img", kGiB, false);  // not ours
    rds_.addDisk("data", "/storage-pool/data.img", kGiB);                    // not ours
  }
  OrphanReporter reporter(VolumeLedger& ledger, bool deleteOrphans) {
    return OrphanReporter(client_, ledger, Host(&host_.api), SlotPrefix::parse("pvc-", "t"),
                          deleteOrphans, [this](const SlotName& slot, const Call& call) {
                            removed_.push_back(slot.str());
                            client_.ensureDiskRemoved(slot, call);
                            return true;
                          });
  }

  polycsi::testing::TempDir dir_{"polycsi-rds-orphans"};
  FakeRds rds_;
  RecordingHost host_;
  RdsClient client_{rds_, Host(&host_.api)};
  std::vector<std::string> removed_;
  Call call_;
};

TEST_F(OrphanReporterTest, FirstScanWithAFreshLedgerAdoptsEverything) {
  VolumeLedger ledger(dir_.path());
  EXPECT_FALSE(ledger.established());
  auto orphans = reporter(ledger, true).scan(call_);
  EXPECT_TRUE(orphans.empty());
  EXPECT_TRUE(ledger.established());
  EXPECT_TRUE(ledger.contains("pvc-orphan"));
  EXPECT_EQ(host_.gauges.at("orphaned_disks"), 0);
  // The adoption survives a restart.
  VolumeLedger reloaded(dir_.path());
  EXPECT_TRUE(reloaded.established());
  EXPECT_TRUE(reloaded.contains(kOurSnapshot));
}

TEST_F(OrphanReporterTest, ReportsDisksNoVolumeKnowsAndDeletesOnlyWhenAskedAndSeenTwice) {
  VolumeLedger ledger(dir_.path());
  ledger.adoptAll({"pvc-known"});
  auto report = reporter(ledger, false);
  EXPECT_EQ(report.scan(call_), (std::vector<std::string>{"pvc-orphan", kOurSnapshot}));
  EXPECT_EQ(host_.gauges.at("orphaned_disks"), 2);
  EXPECT_EQ(report.scan(call_).size(), 2u);
  EXPECT_TRUE(removed_.empty()) << "report-only mode deleted something";
  EXPECT_EQ(rds_.count("/disk remove"), 0);

  auto deleting = reporter(ledger, true);
  deleting.scan(call_);
  EXPECT_TRUE(removed_.empty()) << "deleted after a single sighting";
  ledger.add(kOurSnapshot);  // became known between scans (e.g. a slow create finished)
  deleting.scan(call_);
  EXPECT_EQ(removed_, std::vector<std::string>{"pvc-orphan"});
  EXPECT_FALSE(rds_.disk("pvc-orphan").has_value());
  EXPECT_TRUE(rds_.disk(kOurSnapshot).has_value());
  EXPECT_EQ(host_.counters.at("orphaned_disks_deleted_total"), 1);
}

class OrphanMetricTest : public RdsBackendTest {};

TEST_F(OrphanMetricTest, BackendReportsOrphansThroughTheHostsMetrics) {
  {
    std::ofstream ledger(stateDir_.path() / "known-slots.json");
    ledger << R"({"established": true, "slots": ["pvc-known"]})";
  }
  rds_.addDisk("pvc-known", "/storage-pool/v/pvc-known.img", kGiB);
  rds_.addDisk("pvc-leaked", "/storage-pool/v/pvc-leaked.img", kGiB);
  start({{"orphan_scan_interval_seconds", "60"}});
  // The first scan runs right after start, on the reporter's thread.
  const std::string key = polycsi::testing::FakeHost::metricKey("orphaned_disks", {});
  for (int i = 0; i < 200 && host_.gauge(key) < 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(host_.gauge(key), 1);
  EXPECT_TRUE(host_.logged("orphaned RDS disk pvc-leaked"));
  EXPECT_TRUE(rds_.disk("pvc-leaked").has_value());  // reporting only, by default
}

}  // namespace
}  // namespace polycsi::rds_nvme::testing
