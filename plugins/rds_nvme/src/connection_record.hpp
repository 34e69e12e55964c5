// The node's record of the NVMe/TCP connections this driver uses, kept in the instance's state
// directory (nvme-connections.json) so it outlives restarts of the plugin.
//
// One entry per subsystem NQN: the volume, the addresses (one per NVMe/TCP path) and port, the
// controllers in use with the address each connects, each marked owned (this driver connected
// it, so detach may disconnect it) or borrowed (it existed already, made by someone else: used,
// never disconnected), and the staging paths that use the subsystem. A subsystem is disconnected
// only when its last staging path is gone, and only through its owned controllers: a connection
// this driver did not make is never touched.
//
// `connecting` marks an entry whose connect was started but whose controller name is not
// recorded yet (or a connect that outlived its share of the call's time); if the plugin stops
// in between, the next attach or detach adopts the controller it finds as owned instead of
// borrowing its own connection forever.
//
// Files written before multipath hold one "address" per entry and none per controller; they
// load as a one-path entry whose controllers connect that address.
//
// Every change is written at once, atomically (temporary file, fsync, rename).
//
// THREADING: all members lock an internal mutex; safe from several threads.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace polycsi::rds_nvme {

struct RecordedController {
  std::string name;     // "nvme3"
  bool owned = false;   // connected by this driver
  std::string address;  // the path's address (traddr) it connects
  friend bool operator==(const RecordedController&, const RecordedController&) = default;
};

struct SubsystemRecord {
  std::string nqn;
  std::string volumeId;
  std::vector<std::string> addresses;  // the paths the last attach asked for, in order
  std::string port;
  std::vector<RecordedController> controllers;
  std::set<std::string> stagingPaths;
  bool connecting = false;
  friend bool operator==(const SubsystemRecord&, const SubsystemRecord&) = default;
};

class ConnectionRecord {
 public:
  // Loads `directory`/nvme-connections.json when it exists. Throws INTERNAL naming the file when
  // it cannot be parsed.
  explicit ConnectionRecord(std::filesystem::path directory);

  // The entry of subsystem `nqn`, if any.
  std::optional<SubsystemRecord> find(const std::string& nqn) const;
  // The entries of volume `volumeId` (normally one).
  std::vector<SubsystemRecord> forVolume(const std::string& volumeId) const;
  // Every entry, sorted by NQN.
  std::vector<SubsystemRecord> all() const;
  // Stores `entry` (replacing the entry of its NQN) and writes the file.
  void put(const SubsystemRecord& entry);
  // Removes the entry of `nqn` and writes the file; absent is success.
  void erase(const std::string& nqn);

  const std::filesystem::path& file() const { return file_; }

 private:
  void save() const;

  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::map<std::string, SubsystemRecord> entries_;
};

}  // namespace polycsi::rds_nvme
