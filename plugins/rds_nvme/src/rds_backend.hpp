// The rds_nvme backend: volumes are file-backed disks on a MikroTik RouterOS "RDS" (ROSE data
// server), created and exported over NVMe/TCP with /disk commands sent over SSH.
//
// Controller half: create (empty, from a snapshot, as a clone), delete, get, list, expand,
// capacity, snapshots (unexported copies), and storage-level fencing (publish allows the
// node's NVMe host NQN on the export; unpublish removes it). Node half: the node identity is
// the host NQN; attach connects the volume's NVMe/TCP subsystem with libnvme and returns the
// namespace's block device; detach disconnects only what this driver connected
// (nvme_volume_connections.hpp); volumeCondition reports dead controllers and lost devices.
//
// Every value that reaches a command is validated first (routeros_values.hpp); an invalid
// request is INVALID_ARGUMENT and sends nothing. State changes check first and act second
// (rds_client.hpp), so a retry after a lost reply is safe.
//
// THREADING: as every polycsi backend: calls for different volumes run concurrently, never two
// for the same volume. Shared state: the transport (thread-safe) and the ledger (locked).
// Create, delete and the orphan report's removal of one slot also take turns among themselves
// (slot_locks.hpp); nothing serialises calls for different slots.
// IDEMPOTENCY: every call; creating by the same name finds the same slot.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "command_transport.hpp"
#include "connection_record.hpp"
#include "nvme_volume_connections.hpp"
#include "orphan_reporter.hpp"
#include "polycsi/copy_jobs.hpp"
#include "polycsi/plugin.hpp"
#include "rds_client.hpp"
#include "rds_settings.hpp"
#include "slot_locks.hpp"
#include "storage_class_parameters.hpp"
#include "volume_ledger.hpp"

namespace polycsi::rds_nvme {

// Makes the transport a controller sends its commands over, from the parsed settings; called
// once, by the backend's constructor. Tests pass one that returns a recording fake.
using TransportFactory =
    std::function<std::unique_ptr<CommandTransport>(const RdsSettings&, const Host&)>;
// The production factory: an SshSessionPool of the settings' size, credentials and timeouts,
// connecting lazily.
TransportFactory sshTransportFactory();

// Where the node side looks at the kernel: sysfs and the device directory. Production uses
// /sys and /dev; tests pass a fake tree to the constructor.
struct NodePaths {
  std::string sysfsRoot = "/sys";
  std::string devDir = "/dev";
};

// The host NQN the allow-list holds when no node is published: an empty list would mean "any
// host" to RouterOS, so fencing keeps this placeholder there instead.
inline constexpr char kFencedPlaceholderNqn[] = "nqn.2014-08.io.polycsi:fenced-no-host";

class RdsBackend : public Backend {
 public:
  static Descriptor describe();
  // The plugin's check_settings: what the constructor refuses in ctx's settings, nothing started.
  static void checkSettings(const InitContext& ctx) { RdsSettings::check(ctx.settings, ctx.role); }

  // The optional members below; POLYCSI_PLUGIN checks them against this list.
  static constexpr Capabilities kCapabilities{.createFromSnapshot = true,
                                              .clone = true,
                                              .listVolumes = true,
                                              .expand = true,
                                              .capacity = true,
                                              .snapshots = true,
                                              .fencing = true,
                                              .nodeExpand = true,
                                              .volumeCondition = true,
                                              .findVolume = true,
                                              .controllerVolumeCondition = true};

  // Parses the settings; a controller also opens its transport (`transports(settings, host)`),
  // the ledger in the state directory and starts the orphan scan. Throws INVALID_ARGUMENT for
  // bad settings. A node-only instance never calls `transports`.
  RdsBackend(const InitContext& ctx, const TransportFactory& transports,
             const NodePaths& nodePaths = {});
  // The plugin's entry point: with the SSH transport (sshTransportFactory).
  explicit RdsBackend(const InitContext& ctx) : RdsBackend(ctx, sshTransportFactory()) {}
  ~RdsBackend() override;

  // ---- controller ----
  Volume createVolume(const CreateVolumeRequest& req) override;
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  Volume cloneVolume(const CreateVolumeRequest& req);
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
  // The disk of the slot req.name maps to (volume_naming.hpp), as createVolume returns it;
  // NOT_FOUND when there is none. One `/disk print detail`; creates nothing.
  Volume findVolume(const FindVolumeRequest& req);
  // Sorted by slot; the token is the last slot of the previous page (ABORTED when malformed).
  VolumePage listVolumes(const ListRequest& req);
  // Grows the disk's file (never shrinks); the node then grows the filesystem.
  ExpandResult expandVolume(const ExpandRequest& req);
  // The free space of the pool (the disk mounted at the base path's first component).
  Capacity getCapacity(const CapacityRequest& req);
  Snapshot createSnapshot(const CreateSnapshotRequest& req);
  void deleteSnapshot(const SnapshotIdRequest& req);
  SnapshotPage listSnapshots(const ListRequest& req);
  // Fencing: allows / removes the node's host NQN (req.nodeIdentity) on the export.
  StringMap publish(const PublishRequest& req);
  void unpublish(const PublishRequest& req);
  // The controller's view of each volume (rds_condition.cc): abnormal when its disk is gone, is
  // not exported over NVMe/TCP, or (fencing on) its allow-list differs from the published
  // nodes' host NQNs, naming the extra or missing host. One `/disk print detail` for the whole
  // request; an RDS that cannot be reached makes every volume abnormal naming its address.
  std::vector<VolumeCondition> controllerVolumeConditions(const ControllerConditionRequest& req);

  // ---- node ----
  // The node's NVMe host NQN (host_nqn_file; generated with libnvme and stored when missing).
  std::string nodeIdentity(const Call& call) override;
  // Connects every path of the volume's subsystem (nqn and nvmePort from the volume context,
  // the addresses from the publish context's nvmeAddresses, else the volume context's
  // nvmeAddress; nvme_paths.hpp), reusing live controllers, and returns the namespace's block
  // device: the multipath head.
  Attachment attach(const AttachRequest& req) override;
  // Forgets the staging path; disconnects this driver's controllers of the volume when no
  // staging path uses them any more.
  void detach(const DetachRequest& req) override;
  // Rescans the namespace so the node sees the size the RDS grew it to
  // (namespace_growth.hpp); the core then grows the filesystem.
  void nodeExpand(const NodeExpandRequest& req);
  // Abnormal when the volume's controller is not live or its device is gone.
  VolumeCondition volumeCondition(const DetachRequest& req);

 private:
  // The ways a new volume's data can start.
  struct Source {
    enum class Kind { kNone, kSnapshot, kVolume } kind = Kind::kNone;
    std::optional<SlotName> slot;
  };
  Volume createFrom(const CreateVolumeRequest& req, const Source& source);
  // createFrom for an absent disk with a source: starts (or joins) the copy job that makes
  // `spec` and waits for it; the disk once RouterOS lists it. ABORTED while the copy runs.
  RdsDisk copyIntoNewDisk(const CreateVolumeRequest& req, const Source& source,
                          const DiskSpec& spec);
  // Compares an existing disk with what create asks; ALREADY_EXISTS when incompatible.
  void checkCompatible(const RdsDisk& disk, const CreateVolumeRequest& req, const DiskPath& path,
                       const PortNumber& port, const Nqn& nqn) const;
  // Puts the placeholder on an export whose allow-list is empty (fencing on).
  RdsDisk closeExport(const RdsDisk& disk, const Call& call);
  // Starts `work` (when set and no job is known) as the copy job of `slot` and waits for the
  // job at most half the call's remaining time. True once the copy succeeded (the disk is
  // listed), false while it runs. A failed copy's error is thrown once, after what it left
  // (disk, file) was removed, so the next call starts a new copy.
  bool awaitCopy(const SlotName& slot, const Call& call, const CopyJobs::Work* work,
                 std::optional<Snapshot> snapshot = std::nullopt);
  // For a call that found the disk of `slot`: forgets its copy job (waiting for a job that
  // still runs its last steps, at most half the call's remaining time), so a finished job
  // neither counts toward the copy limit nor stays in the table.
  void forgetCopy(const SlotName& slot, const Call& call);
  // Waits for the copy job of `slot` to end (ABORTED when it outlasts half the call's time),
  // then removes its disk and files.
  void deleteSlot(const SlotName& slot, const Call& call);
  // Removes a disk and its file; gone already is success.
  void removeDiskAndFile(const SlotName& slot, const Call& call);
  // ABORTED when the RDS holds a file of `slot` but no disk: an earlier copy-from whose answer
  // was lost, which RouterOS may still be copying. Never starts a second copy (README, "Copies
  // that outlast a call").
  void refuseASecondCopy(const SlotName& slot, const std::string& what, const Call& call);
  Volume toVolume(const RdsDisk& disk, const VolumePlacement& placement) const;
  Snapshot toSnapshot(const RdsDisk& disk) const;
  // The client; FAILED_PRECONDITION on a node-only instance.
  RdsClient& client();
  // A volume id as a slot of this driver's volumes; INVALID_ARGUMENT when malformed.
  SlotName volumeSlot(const std::string& id, const char* what) const;
  // The node-side state; FAILED_PRECONDITION on a controller-only instance.
  NvmeVolumeConnections& connections();
  // The host NQN and ID for connects (read once, then cached).
  NvmeConnectOptions connectOptions();

  Host host_;
  std::string instanceName_;
  RdsSettings settings_;
  std::unique_ptr<CommandTransport> transport_;
  std::unique_ptr<RdsClient> client_;
  std::unique_ptr<VolumeLedger> ledger_;
  std::unique_ptr<SlotLocks> slotLocks_;  // controller side
  // After client_ and ledger_, which its jobs use: destroyed (its threads joined) first.
  std::unique_ptr<CopyJobs> copies_;
  std::unique_ptr<ConnectionRecord> connectionRecord_;  // node side
  std::unique_ptr<NvmeVolumeConnections> connections_;  // node side
  std::mutex identityMu_;
  std::string hostNqn_;                      // cached by nodeIdentity
  std::optional<std::string> hostId_;        // read with the host NQN
  std::unique_ptr<OrphanReporter> orphans_;  // last: stopped first
};

}  // namespace polycsi::rds_nvme
