// The simulated array's objects (volumes, snapshots, hosts, mappings), persisted as one JSON
// file, with volumes as sparse files exported through tgtd.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tgtd_controller.hpp"

namespace powerstore_sim {

struct SimVolume {
  std::string id;
  std::string name;
  std::string description;
  std::uint64_t size = 0;
  std::string type = "Primary";  // "Primary" or "Snapshot"
  std::string source_id;         // the volume a snapshot or clone was taken from
  std::string creation_timestamp;
  int tid = 0;  // tgtd target of a Primary volume
};

struct SimInitiator {
  std::string port_name;  // the initiator IQN
  std::string port_type;  // "iSCSI"
};

struct SimHost {
  std::string id;
  std::string name;
  std::string os_type;
  std::vector<SimInitiator> initiators;
};

struct SimMapping {
  std::string id;
  std::string host_id;
  std::string volume_id;
  int logical_unit_number = 1;
};

// The array. Every member throws ApiError for what the array would refuse. Thread-safe (one
// mutex); each change is written to the state file before the call returns.
class ArrayStore {
 public:
  // Loads `state_dir`/state.json when present; volumes live in `state_dir`/volumes.
  // `tgtd` (may be null: no export) must outlive the store.
  ArrayStore(std::filesystem::path state_dir, std::string target_iqn_prefix, TgtdController* tgtd);

  // Re-exports every Primary volume and binds its mapped hosts (after tgtd starts).
  void exportAll();

  SimVolume createVolume(const std::string& name, std::uint64_t size,
                         const std::string& description);
  SimVolume volume(const std::string& id);
  std::vector<SimVolume> volumes();
  SimVolume resizeVolume(const std::string& id, std::uint64_t size);
  void deleteVolume(const std::string& id);
  // A read-only point-in-time copy (type Snapshot), not exported.
  SimVolume snapshot(const std::string& source_id, const std::string& name,
                     const std::string& description);
  // A new Primary volume with the content of `source_id` (a volume or a snapshot).
  SimVolume clone(const std::string& source_id, const std::string& name,
                  const std::string& description);

  SimHost createHost(const std::string& name, const std::string& os_type,
                     const std::vector<SimInitiator>& initiators);
  SimHost host(const std::string& id);
  std::vector<SimHost> hosts();
  void deleteHost(const std::string& id);

  void attach(const std::string& host_id, const std::string& volume_id);
  void detach(const std::string& host_id, const std::string& volume_id);
  std::vector<SimMapping> mappings();

  // The iSCSI target name of a volume's target.
  std::string targetIqn(const SimVolume& volume) const;

 private:
  void save();
  void load();
  std::filesystem::path fileOf(const std::string& volume_id) const;
  SimVolume& findVolume(const std::string& id);
  SimHost& findHost(const std::string& id);
  void requireFreeName(const std::string& name);
  SimVolume copyVolume(const std::string& source_id, const std::string& name,
                       const std::string& description, const std::string& type);
  void bindHost(const SimVolume& volume, const SimHost& host, bool bind);

  std::filesystem::path state_dir_;
  std::string target_iqn_prefix_;
  TgtdController* tgtd_;
  std::mutex mutex_;
  std::map<std::string, SimVolume> volumes_;
  std::map<std::string, SimHost> hosts_;
  std::vector<SimMapping> mappings_;
  int next_tid_ = 1;
};

// JSON as the REST API shows each object.
nlohmann::json toJson(const SimVolume& volume);
nlohmann::json toJson(const SimHost& host);
nlohmann::json toJson(const SimMapping& mapping);

// A random RFC 4122 version-4 UUID, like the array's object ids.
std::string newUuid();

}  // namespace powerstore_sim
