// The rds_nvme backend: volumes are file-backed disks on a MikroTik RouterOS "RDS" (ROSE data
// server), created and exported over NVMe/TCP with /disk commands sent over SSH.
//
// This is the controller half: create (empty, from a snapshot, as a clone), delete, get,
// list, expand, capacity, snapshots (unexported copies), and storage-level fencing (publish
// allows the node's NVMe host NQN on the export; unpublish removes it). The node half
// (NVMe/TCP connect/disconnect) is not built yet: attach, detach and nodeIdentity fail with
// UNIMPLEMENTED.
//
// Every value that reaches a command is validated first (routeros_values.hpp); an invalid
// request is INVALID_ARGUMENT and sends nothing. State changes check first and act second
// (rds_client.hpp), so a retry after a lost reply is safe.
//
// THREADING: as every polycsi backend: calls for different volumes run concurrently, never two
// for the same volume. Shared state: the transport (thread-safe) and the ledger (locked).
// IDEMPOTENCY: every call; creating by the same name finds the same slot.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "command_transport.hpp"
#include "orphan_reporter.hpp"
#include "polycsi/plugin.hpp"
#include "rds_client.hpp"
#include "rds_settings.hpp"
#include "storage_class_parameters.hpp"
#include "volume_ledger.hpp"

namespace polycsi::rds_nvme {

// Makes the transport a controller uses. The default builds an SshSessionPool; tests replace
// it (setTransportFactoryForTesting) to run the backend against a recording fake.
using TransportFactory =
    std::function<std::unique_ptr<CommandTransport>(const RdsSettings&, const Host&)>;
// Replaces the factory for backends constructed afterwards; an empty function restores the
// default. Not for production use.
void setTransportFactoryForTesting(TransportFactory factory);

// The host NQN the allow-list holds when no node is published: an empty list would mean "any
// host" to RouterOS, so fencing keeps this placeholder there instead.
inline constexpr char kFencedPlaceholderNqn[] = "nqn.2014-08.io.polycsi:fenced-no-host";

class RdsBackend : public Backend {
 public:
  static Descriptor describe();

  // Parses the settings; a controller also opens the connection pool (connecting lazily), the
  // ledger in the state directory and starts the orphan scan. Throws INVALID_ARGUMENT for bad
  // settings.
  explicit RdsBackend(const InitContext& ctx);
  ~RdsBackend() override;

  // ---- controller ----
  Volume createVolume(const CreateVolumeRequest& req) override;
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  Volume cloneVolume(const CreateVolumeRequest& req);
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
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

  // ---- node (not built yet) ----
  std::string nodeIdentity(const Call& call) override;
  Attachment attach(const AttachRequest& req) override;
  void detach(const DetachRequest& req) override;

 private:
  // The ways a new volume's data can start.
  struct Source {
    enum class Kind { kNone, kSnapshot, kVolume } kind = Kind::kNone;
    std::optional<SlotName> slot;
  };
  Volume createFrom(const CreateVolumeRequest& req, const Source& source);
  // Compares an existing disk with what create asks; ALREADY_EXISTS when incompatible.
  void checkCompatible(const DiskEntry& disk, const CreateVolumeRequest& req,
                       const DiskPath& path, const PortNumber& port, const Nqn& nqn) const;
  // Puts the placeholder on an export whose allow-list is empty (fencing on).
  DiskEntry closeExport(const DiskEntry& disk, const Call& call);
  // Removes a disk and its file; gone already is success.
  void removeDiskAndFile(const SlotName& slot, const Call& call);
  Volume toVolume(const DiskEntry& disk, const VolumePlacement& placement) const;
  Snapshot toSnapshot(const DiskEntry& disk) const;
  // The client; FAILED_PRECONDITION on a node-only instance.
  RdsClient& client();
  // A volume id as a slot of this driver's volumes; INVALID_ARGUMENT when malformed.
  SlotName volumeSlot(const std::string& id, const char* what) const;

  Host host_;
  std::string instanceName_;
  RdsSettings settings_;
  std::unique_ptr<CommandTransport> transport_;
  std::unique_ptr<RdsClient> client_;
  std::unique_ptr<VolumeLedger> ledger_;
  std::unique_ptr<OrphanReporter> orphans_;  // last: stopped first
};

}  // namespace polycsi::rds_nvme
