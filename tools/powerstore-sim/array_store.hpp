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
  // The QoS performance policy: one of the array's predefined default_low, default_medium
  // (a new volume's) and default_high (dell/terraform-provider-powerstore
  // powerstore/resource_volume.go: OneOf and the default_medium default).
  std::string performance_policy_id = "default_medium";
  // The protection policy, empty when none (the API shows null).
  std::string protection_policy_id;
};

// A volume group (PowerStore REST API 4.1 OpenAPI `volume_group_instance`, in
// dell/terraform-provider-powerstore clientgen_utils/openapi_specs/spec_4_1.json; dell/gopowerstore
// volume_group_types.go VolumeGroup). A Primary group holds volumes; POST
// volume_group/{id}/snapshot makes a group of type Snapshot, a "snapshot set", holding one snapshot
// of every member taken together, whose protection_data.source_id is the source group.
struct SimVolumeGroup {
  std::string id;
  std::string name;
  std::string description;
  std::string type = "Primary";  // "Primary" or "Snapshot" (a snapshot set)
  bool is_write_order_consistent = true;
  std::string source_id;  // a snapshot set's source group
  std::string creation_timestamp;
  std::vector<std::string> volume_ids;  // members, in the order they joined
};

// What PATCH volume/{id} may change (PowerStore REST API 4.1 OpenAPI `volume_modify`, as in
// dell/terraform-provider-powerstore clientgen_utils/openapi_specs/spec_4_1.json, and
// dell/gopowerstore volume_types.go VolumeModify): a field left unset stays as it is; an empty
// protection policy removes the volume's (the attribute is nullable; dell/csi-powerstore
// pkg/controller/controller.go sends "" to unassign it).
struct SimVolumeChange {
  std::optional<std::uint64_t> size;
  // `volume_modify` name (1 to 128 characters, unique) and description (at most 128).
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<std::string> performance_policy_id;
  std::optional<std::string> protection_policy_id;
};

// The performance policies every array has (see SimVolume::performance_policy_id).
inline const std::vector<std::string>& predefinedPerformancePolicies() {
  static const std::vector<std::string> ids{"default_low", "default_medium", "default_high"};
  return ids;
}

struct SimInitiator {
  std::string port_name;  // the initiator IQN
  std::string port_type;  // "iSCSI"
  // CHAP of this initiator (dell/gopowerstore host_types.go, InitiatorCreateModify): the
  // single pair is what the array expects from the initiator, the mutual pair what the array
  // answers with when the initiator asks the target to authenticate itself (mutual CHAP).
  // Passwords are write-only: never shown by GET.
  std::string chap_single_username;
  std::string chap_single_password;
  std::string chap_mutual_username;
  std::string chap_mutual_password;
};

// A change to an initiator's CHAP (PATCH host modify_initiators): a field left unset stays as
// it is (dell/gopowerstore host_types.go UpdateInitiatorInHost holds pointers).
struct SimChapChange {
  std::string port_name;
  std::optional<std::string> chap_single_username;
  std::optional<std::string> chap_single_password;
  std::optional<std::string> chap_mutual_username;
  std::optional<std::string> chap_mutual_password;
};

// The cluster's CHAP mode: `mode` of chap_config/0 (openstack/cinder
// cinder/volume/drivers/dell_emc/powerstore/client.py get_chap_config, adapter.py).
inline constexpr const char* kChapDisabled = "Disabled";
inline constexpr const char* kChapSingle = "Single";
inline constexpr const char* kChapMutual = "Mutual";

struct SimHost {
  std::string id;
  std::string name;
  std::string os_type;
  std::vector<SimInitiator> initiators;
};

// A host mapping: the volume is LUN `logical_unit_number` of the targets the host logs in to.
// No target here: a real array keeps target IQNs on IP ports (dell/gopowerstore
// host_types.go HostVolumeMapping has host_id, volume_id, logical_unit_number).
struct SimMapping {
  std::string id;
  std::string host_id;
  std::string volume_id;
  int logical_unit_number = 1;
};

// An iSCSI IP port of the appliance with its address (an ip_pool_address with purpose
// Storage_Iscsi_Target) and its own target; dell/gopowerstore ip_pool_address_types.go.
struct SimIpPort {
  std::string id;          // the ip_port id
  std::string address_id;  // the ip_pool_address id
  std::string address;     // the portal's IP address
  std::string target_iqn;  // the IP port's target
  std::string node_id;     // the appliance node the port belongs to
  int tid = 0;             // its tgtd target
};

// The simulator's IP ports: one per address, named "<iqn_prefix>-<a|b|...>".
std::vector<SimIpPort> simIpPorts(const std::string& iqn_prefix,
                                  const std::vector<std::string>& addresses);

// The array. Every member throws ApiError for what the array would refuse. Thread-safe (one
// mutex); each change is written to the state file before the call returns.
class ArrayStore {
 public:
  // Loads `state_dir`/state.json when present; volumes live in `state_dir`/volumes.
  // `tgtd` (may be null: no export) must outlive the store. Each of `ports` is one tgtd
  // target; a mapped volume is a LUN of every one of them (as a host sees it through each
  // IP port of the appliance).
  // `chap_mode`, when set, is the cluster's CHAP mode from the start (else the saved one, else
  // Disabled); 400 ApiError for another value.
  ArrayStore(std::filesystem::path state_dir, std::vector<SimIpPort> ports, TgtdController* tgtd,
             const std::optional<std::string>& chap_mode = std::nullopt);

  // Creates the IP ports' targets, re-adds every mapping's LUN and binds the initiators of
  // mapped hosts (after tgtd starts).
  void exportAll();

  const std::vector<SimIpPort>& ports() const { return ports_; }

  // `change` carries the optional policies of POST volume (its size field is ignored).
  SimVolume createVolume(const std::string& name, std::uint64_t size,
                         const std::string& description, const SimVolumeChange& policies = {});
  SimVolume volume(const std::string& id);
  std::vector<SimVolume> volumes();
  SimVolume resizeVolume(const std::string& id, std::uint64_t size);
  // PATCH volume/{id}: the size (as resizeVolume), the performance and the protection policy,
  // all or nothing. 400 for a policy id the array does not have, 422 for a snapshot.
  SimVolume modifyVolume(const std::string& id, const SimVolumeChange& change);
  // Adds a protection policy volumes may name (the simulator has none at start; a real array's
  // are made with POST policy, which the simulator does not serve). Idempotent.
  void addProtectionPolicy(const std::string& id, const std::string& name);
  void deleteVolume(const std::string& id);
  // A read-only point-in-time copy (type Snapshot), not exported.
  SimVolume snapshot(const std::string& source_id, const std::string& name,
                     const std::string& description);
  // A new Primary volume with the content of `source_id` (a volume or a snapshot).
  SimVolume clone(const std::string& source_id, const std::string& name,
                  const std::string& description);

  // ---- volume groups (PowerStore REST API 4.1 OpenAPI, paths /volume_group...) ----
  // POST volume_group: a Primary group of `volume_ids` (may be empty). 422 for a name another
  // group has (compared ignoring case, as the array does), a volume that does not exist, is not
  // a Primary volume or is already in a volume group ("should not be part of another volume
  // group"); 400 for a bad name or a volume named twice.
  SimVolumeGroup createVolumeGroup(const std::string& name, const std::string& description,
                                   const std::vector<std::string>& volume_ids,
                                   bool is_write_order_consistent);
  SimVolumeGroup volumeGroup(const std::string& id);  // 404 when missing
  std::vector<SimVolumeGroup> volumeGroups();
  // POST volume_group/{id}/remove_members: 400 for an empty list, 422 for a snapshot set ("This
  // cannot be used to remove members from a snapshot set") or a volume not in the group.
  void removeVolumeGroupMembers(const std::string& id, const std::vector<std::string>& volume_ids);
  // POST volume_group/{id}/snapshot: a snapshot set named `name` with one Snapshot of every
  // member, all copied under the store's lock (no other call sees a part of it). 422 for a
  // snapshot set as the source, a group without members, or a name in use.
  SimVolumeGroup snapshotVolumeGroup(const std::string& id, const std::string& name,
                                     const std::string& description);
  // DELETE volume_group/{id}: a Primary group's members are only removed (or deleted, with
  // `delete_members`, under the rules of deleteVolume) and its snapshot sets are deleted; a
  // snapshot set is deleted with its snapshots.
  void deleteVolumeGroup(const std::string& id, bool delete_members);

  SimHost createHost(const std::string& name, const std::string& os_type,
                     const std::vector<SimInitiator>& initiators);
  SimHost host(const std::string& id);
  std::vector<SimHost> hosts();
  void deleteHost(const std::string& id);
  // Changes the CHAP credentials of initiators of a host, all or none: 400 for a value out of
  // the array's bounds or a pair left half set, 404 for an initiator the host lacks.
  void modifyInitiatorChap(const std::string& host_id, const std::vector<SimChapChange>& changes);

  // The cluster's CHAP mode (chap_config/0 `mode`): Disabled, Single (every iSCSI initiator
  // must log in with its single pair) or Mutual (and the target answers with the initiator's
  // mutual pair). Hosts created while it is Single or Mutual must carry those pairs.
  std::string chapMode();
  // 400 for another mode. Turning CHAP on with hosts that lack credentials is allowed and
  // locks those hosts out, as the array warns it does.
  void setChapMode(const std::string& mode);

  // Maps the volume to the host as the lowest LUN number no mapping uses. The LUN space is
  // shared by all hosts here (tgtd cannot show each host its own LUN map, see README.md), so
  // two hosts never get the same number; a real array numbers each host's LUNs on its own.
  SimMapping attach(const std::string& host_id, const std::string& volume_id);
  void detach(const std::string& host_id, const std::string& volume_id);
  std::vector<SimMapping> mappings();

  // For tests of paging (POST /sim/seed_hosts): creates `count` hosts named
  // `prefix`<n> with initiator iqn.2000-01.com.example:`prefix`<n>, each mapped to
  // `volume_id` when it is not empty, with one save.
  void seedHosts(const std::string& prefix, int count, const std::string& volume_id);

 private:
  void save();
  void load();
  std::filesystem::path fileOf(const std::string& volume_id) const;
  SimVolume& findVolume(const std::string& id);
  SimHost& findHost(const std::string& id);
  void requireFreeName(const std::string& name);
  SimVolume copyVolume(const std::string& source_id, const std::string& name,
                       const std::string& description, const std::string& type);
  void checkNewHost(const std::string& name, const std::vector<SimInitiator>& initiators);
  bool hasMappings(const std::string& host_id) const;
  // Allows (or forbids) the host's initiators on every IP port's target.
  void bindHost(const SimHost& host, bool bind);
  // The CHAP accounts tgtd needs for `mode` with these hosts and mappings (the single pairs of
  // mapped hosts' initiators, a sealed account whenever CHAP is on, the mutual pair in Mutual
  // mode); throws ApiError(422) for what one tgtd cannot serve (README.md).
  struct ChapPlan {
    std::vector<ChapAccount> incoming;
    std::optional<ChapAccount> outgoing;
  };
  ChapPlan planChap(const std::string& mode, const std::map<std::string, SimHost>& hosts,
                    const std::vector<SimMapping>& mappings) const;
  void applyChap(const ChapPlan& plan);
  // Adds (or removes) a mapping's LUN on every IP port's target.
  void exportLun(const SimMapping& mapping, bool add);
  SimMapping addMapping(const SimHost& host, const SimVolume& volume);

  std::filesystem::path state_dir_;
  std::vector<SimIpPort> ports_;
  TgtdController* tgtd_;
  std::mutex mutex_;
  std::map<std::string, SimVolume> volumes_;
  std::map<std::string, SimHost> hosts_;
  std::map<std::string, SimVolumeGroup> groups_;
  SimVolumeGroup& findGroup(const std::string& id);
  // The group `volume_id` is a member of, or null.
  const SimVolumeGroup* groupOfVolume(const std::string& volume_id) const;
  // Throws 422 when the volume may not be deleted (mapped, in a group, or the source of a
  // snapshot in a snapshot set); the volume must exist.
  void checkDeletable(const SimVolume& volume) const;
  // Deletes the volume and its file; its checks done.
  void eraseVolume(const std::string& id);
  std::vector<SimMapping> mappings_;
  std::string chap_mode_ = kChapDisabled;
  std::map<std::string, std::string> protection_policies_;  // id -> name
  // Throws 400 unless `change`'s policies (when set) are ones the array has.
  void checkPolicies(const SimVolumeChange& change) const;
  // Bound to every target while CHAP is on, with a secret nobody knows: tgtd requires CHAP
  // only from targets with an incoming account, and the array requires it in Single and
  // Mutual mode even when no mapped host has credentials.
  ChapAccount sealed_;
};

// JSON as the REST API shows each object.
nlohmann::json toJson(const SimVolume& volume);
nlohmann::json toJson(const SimHost& host);
nlohmann::json toJson(const SimMapping& mapping);
// A volume group without its volumes (the server adds `volumes` as the full volume objects).
nlohmann::json toJson(const SimVolumeGroup& group);

// A random RFC 4122 version-4 UUID, like the array's object ids.
std::string newUuid();

// The volume's NAA world wide name as 32 hex digits: NAA type 6 (IEEE registered extended)
// with the company id PowerStore volumes carry (68ccf098...), then 24 digits of the volume id.
// `wwn` of GET volume is "naa." and this; every target shows the LUN with it.
std::string naaOf(const std::string& volume_id);

}  // namespace powerstore_sim
