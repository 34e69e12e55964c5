#include "orphan_reporter.hpp"

#include "volume_naming.hpp"

namespace polycsi::rds_nvme {
namespace {

// "snap-" followed by 32 lowercase hex digits: the snapshots this driver names.
bool isOurSnapshotSlot(const std::string& slot) {
  std::string prefix = kSnapshotSlotPrefix;
  if (slot.size() != prefix.size() + 32 || slot.rfind(prefix, 0) != 0) return false;
  for (size_t i = prefix.size(); i < slot.size(); ++i)
    if (!((slot[i] >= '0' && slot[i] <= '9') || (slot[i] >= 'a' && slot[i] <= 'f'))) return false;
  return true;
}

}  // namespace

OrphanReporter::OrphanReporter(RdsClient& client, VolumeLedger& ledger, Host host,
                               SlotPrefix volumePrefix, bool deleteOrphans, Remover remover)
    : client_(client),
      ledger_(ledger),
      host_(host),
      volumePrefix_(std::move(volumePrefix)),
      deleteOrphans_(deleteOrphans),
      remover_(std::move(remover)) {}

OrphanReporter::~OrphanReporter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> OrphanReporter::scan(const Call& call) {
  std::vector<std::string> ours;
  for (const auto& disk : client_.listDisks(volumePrefix_, call)) ours.push_back(disk.slot);
  for (const auto& disk : client_.listDisks(SlotPrefix::parse("snap-", "snapshot prefix"), call))
    if (isOurSnapshotSlot(disk.slot)) ours.push_back(disk.slot);
  if (!ledger_.established()) {
    ledger_.adoptAll(ours);
    host_.info("orphan report: adopted " + std::to_string(ours.size()) +
               " existing disk(s) as known (first scan with this state directory)");
  }
  std::set<std::string> orphans;
  for (const auto& slot : ours)
    if (!ledger_.contains(slot)) orphans.insert(slot);
  host_.gaugeSet("orphaned_disks", {}, static_cast<double>(orphans.size()));
  for (const auto& slot : orphans)
    host_.warn("orphaned RDS disk " + slot +
               ": it has this driver's slot name but no volume or "
               "snapshot knows it" +
               (deleteOrphans_ ? std::string(previous_.count(slot) ? "; deleting it"
                                                                   : "; deleting it if still "
                                                                     "orphaned at the next scan")
                               : std::string("; set delete_orphans: true to remove such disks")));
  std::set<std::string> seenTwice;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& slot : orphans)
      if (previous_.count(slot)) seenTwice.insert(slot);
    previous_ = orphans;
  }
  if (deleteOrphans_) {
    for (const auto& slot : seenTwice) {
      // A volume created since the listing is in the ledger now: never delete it.
      if (ledger_.contains(slot)) continue;
      if (!remover_(SlotName::parse(slot, "orphaned slot"), call)) continue;
      host_.counterAdd("orphaned_disks_deleted_total", {}, 1);
      host_.warn("deleted orphaned RDS disk " + slot);
    }
  }
  return {orphans.begin(), orphans.end()};
}

void OrphanReporter::start(std::chrono::seconds interval) {
  thread_ = std::thread([this, interval] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      try {
        Call call;
        call.timeout = std::chrono::minutes(5);
        scan(call);
      } catch (const std::exception& e) {
        host_.warn(std::string("orphan scan failed: ") + e.what());
      }
      lock.lock();
      stop_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

}  // namespace polycsi::rds_nvme
