// VolumeLedger: the slots this backend has handed out (volumes and snapshots), kept in a JSON
// file in the instance's state directory, so the orphan report can tell a disk that a volume
// knows about from one that a creation left behind (e.g. the PVC was deleted while
// CreateVolume was still retrying, so DeleteVolume never comes).
//
// A ledger that did not exist yet is "unestablished": the first scan adopts every disk it
// finds (they may belong to volumes created before this state directory existed), so a lost
// or fresh state directory never turns live volumes into orphans.
//
// THREADING: internally locked; writes are atomic (temp file + rename).
#pragma once

#include <filesystem>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace polycsi::rds_nvme {

class VolumeLedger {
 public:
  // Loads `directory`/known-slots.json when present; INTERNAL when it exists but is unreadable.
  explicit VolumeLedger(std::filesystem::path directory);

  void add(const std::string& slot);
  void remove(const std::string& slot);
  bool contains(const std::string& slot) const;
  // True once adoptAll ran (now or in an earlier life of the state directory).
  bool established() const;
  // Records every slot as known and marks the ledger established.
  void adoptAll(const std::vector<std::string>& slots);

 private:
  void save();  // caller holds mu_

  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::set<std::string> slots_;
  bool established_ = false;
};

}  // namespace polycsi::rds_nvme
