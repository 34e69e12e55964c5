// OrphanReporter: finds disks that carry this driver's slot names (the volume prefix, or
// "snap-<32 hex>") but that no volume or snapshot of the ledger knows about, and reports them:
// a warning per orphan and the gauge <prefix>_orphaned_disks. With delete_orphans on, a disk
// found orphaned in two consecutive scans is deleted through `remove` (disk and file) and
// counted in <prefix>_orphaned_disks_deleted_total; off by default.
//
// The first scan with an unestablished ledger adopts what it finds (see volume_ledger.hpp).
//
// OWNERSHIP: borrows the client and ledger, which must outlive it; owns its scan thread.
// THREADING: scan() may run concurrently with volume calls; start() runs scans periodically
// on a thread of its own until the reporter is destroyed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "polycsi/plugin.hpp"
#include "rds_client.hpp"
#include "volume_ledger.hpp"

namespace polycsi::rds_nvme {

class OrphanReporter {
 public:
  // Removes an orphaned slot's disk and file; false when it found the slot no longer orphaned
  // (a volume took it meanwhile) and removed nothing.
  using Remover = std::function<bool(const SlotName&, const Call&)>;

  OrphanReporter(RdsClient& client, VolumeLedger& ledger, Host host, SlotPrefix volumePrefix,
                 bool deleteOrphans, Remover remover);
  ~OrphanReporter();

  // One scan now; returns the orphaned slots (sorted) as found, before any deletion.
  std::vector<std::string> scan(const Call& call);
  // Scans every `interval` (the first one right away) until destruction. Failures are logged.
  void start(std::chrono::seconds interval);

 private:
  RdsClient& client_;
  VolumeLedger& ledger_;
  Host host_;
  SlotPrefix volumePrefix_;
  bool deleteOrphans_;
  Remover remover_;
  std::mutex mu_;
  std::condition_variable stop_;
  bool stopping_ = false;
  std::set<std::string> previous_;  // orphans of the previous scan
  std::thread thread_;
};

}  // namespace polycsi::rds_nvme
