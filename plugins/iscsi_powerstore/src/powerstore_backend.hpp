// The iscsi_powerstore backend: Dell PowerStore block volumes over iSCSI, managed through the
// array's REST API (rest_client.hpp). Configured with Dell csi-powerstore's `arrays` list
// (array_config.hpp); a StorageClass picks an array with `arrayID`.
//
// Controller half: create (empty, from a snapshot, as a clone), delete, get, expand,
// snapshots; publish finds or creates the host named after the node with the node's initiator
// IQN and attaches the volume to it; a volume attached to another host is FAILED_PRECONDITION
// (iSCSI LUNs are single-node here: this strategy cannot live-migrate, so every RWX mode is
// unsupported). Node half (iscsi_node.cc): identity = the initiator IQN; attach checks the
// portal with libiscsi, logs in with the kernel initiator and waits for the LUN's device.
//
// Ids: a volume or snapshot id is "<globalID>.<array object uuid>", so any call finds its array
// (polycsi's local ids allow [A-Za-z0-9._-], hence the '.').
// THREADING: calls for different volumes run concurrently; the REST clients are thread-safe.
// IDEMPOTENCY: every call; create finds an existing object by name.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "array_config.hpp"
#include "iscsi_node.hpp"
#include "polycsi/block_device_sysfs.hpp"
#include "polycsi/plugin.hpp"
#include "rest_client.hpp"

namespace polycsi::iscsi_powerstore {

class PowerStoreBackend : public Backend {
 public:
  static Descriptor describe();
  // The plugin's check_settings: what the constructor refuses in ctx's settings.
  static void checkSettings(const InitContext& ctx) {
    parsePluginConfig(ctx.settings, ctx.settingsJson, ctx.role);
  }

  // The optional members below; POLYCSI_PLUGIN checks them against this list.
  static constexpr Capabilities kCapabilities{.createFromSnapshot = true,
                                              .clone = true,
                                              .expand = true,
                                              .snapshots = true,
                                              .fencing = true,
                                              .nodeExpand = true,
                                              .volumeCondition = true,
                                              .modifyVolume = true,
                                              .findVolume = true,
                                              .controllerVolumeCondition = true,
                                              .groupSnapshots = true};

  // Parses the settings (INVALID_ARGUMENT when bad); REST sessions open lazily.
  explicit PowerStoreBackend(const InitContext& ctx);
  ~PowerStoreBackend() override;

  // ---- controller ----
  Volume createVolume(const CreateVolumeRequest& req) override;
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  Volume cloneVolume(const CreateVolumeRequest& req);
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
  // The object named req.name on the array createVolume would use (arrayID of req.parameters,
  // else the default array), found with the same `name=eq.` query createVolume makes; NOT_FOUND
  // when the array holds none. Whatever its size or type: createVolume on this backend then
  // decides (ALREADY_EXISTS when it does not fit the request). Reads only.
  Volume findVolume(const FindVolumeRequest& req);
  ExpandResult expandVolume(const ExpandRequest& req);
  // Sets the volume's performance policy (performancePolicy low|medium|high) and protection
  // policy (protectionPolicyID) with PATCH volume/{id}; idempotent.
  void modifyVolume(const ModifyVolumeRequest& req);
  Snapshot createSnapshot(const CreateSnapshotRequest& req);
  void deleteSnapshot(const SnapshotIdRequest& req);
  // Snapshots of every configured array, sorted by id; the token is an index.
  SnapshotPage listSnapshots(const ListRequest& req);
  // Every member at one instant through a write-order consistent volume group of exactly the
  // members' volumes, snapshotted once into a snapshot set named after the group
  // (powerstore_group_snapshot.cc). FAILED_PRECONDITION for volumes on different arrays or a
  // volume already in a volume group of the array's. Idempotent; on failure nothing of the call
  // is left on the array.
  std::vector<Snapshot> createGroupSnapshot(const CreateGroupSnapshotRequest& req);
  // Deletes the group's snapshot set (its snapshots go with it), the emptied source group, and
  // any member a group taken one volume at a time left; on every configured array. Idempotent.
  void deleteGroupSnapshot(const GroupSnapshotIdRequest& req);
  // Attaches the volume to the node's host; context: lun (the host mapping's), portals and
  // targetIqns (comma-separated pairs, one per iSCSI IP port), portal and targetIqn (the
  // first pair).
  StringMap publish(const PublishRequest& req);
  void unpublish(const PublishRequest& req);
  // The controller's view of each volume (powerstore_condition.cc): abnormal when the array no
  // longer has it, its state is not Ready, or the hosts it is mapped to differ from the
  // published nodes' hosts, naming each extra or missing host. An array that cannot be reached
  // makes its volumes abnormal naming the array.
  std::vector<VolumeCondition> controllerVolumeConditions(const ControllerConditionRequest& req);

  // ---- node ----
  std::string nodeIdentity(const Call& call) override;
  Attachment attach(const AttachRequest& req) override;
  void detach(const DetachRequest& req) override;
  // Rescans the LUN's SCSI disk so the node sees the size the array grew it to
  // (scsi_disk_growth.hpp); the core then grows the filesystem.
  void nodeExpand(const NodeExpandRequest& req);
  // Abnormal when an iSCSI session of the staged LUN is not logged in or its device is gone
  // (IscsiNode::condition).
  VolumeCondition volumeCondition(const DetachRequest& req);

 private:
  // The array and its object uuid of an id; INVALID_ARGUMENT when malformed.
  std::pair<RestClient*, std::string> resolve(const std::string& id, const char* what);
  RestClient& client(const std::string& globalID);
  Volume createCopy(const CreateVolumeRequest& req, const char* kind);
  Volume toVolume(const RestClient& client, const nlohmann::json& volume) const;
  // The host named `nodeName`, else (when `iqn` is not empty) the host holding `iqn`; null
  // when neither exists. Reads every page.
  nlohmann::json findHost(RestClient& client, const Call& call, const std::string& nodeName,
                          const std::string& iqn);
  // findHost(), creating the host with `iqn` when missing; sets the configured CHAP (single,
  // and mutual when configured) on the node's initiator when its user names differ.
  nlohmann::json findOrCreateHost(RestClient& client, const Call& call, const std::string& nodeName,
                                  const std::string& iqn);
  // The configured CHAP as an initiator's attributes (single, and mutual when set).
  nlohmann::json chapAttributes() const;
  // The initiator object of `host` with port_name `iqn`, or null.
  static const nlohmann::json* initiatorOf(const nlohmann::json& host, const std::string& iqn);
  IscsiNode& node();

  Host host_;
  PluginConfig config_;
  std::map<std::string, std::unique_ptr<RestClient>> clients_;  // by globalID; fixed after init
  std::unique_ptr<IscsiNode> node_;
  BlockDeviceSysfs sysfs_;  // the node's /sys
};

}  // namespace polycsi::iscsi_powerstore
