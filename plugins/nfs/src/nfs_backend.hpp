// The nfs backend: every volume is a subdirectory of an NFS export, created, copied and removed
// by the controller through libnfs (no kernel client, no privileged mount), and mounted on the
// node by the core as `server:/export/subdir`. For RWX filesystem volumes, which KubeVirt can
// live-migrate; any NFS server works (a PowerStore NAS export, a Linux knfsd or nfs-ganesha).
//
// Not offered, on purpose: raw block volumes (an export holds files) and expansion (NFS has no
// per-directory size limit, so a volume's size is a label the plugin cannot enforce; see
// README.md).
//
// THREADING: as every polycsi backend: calls for different volumes run concurrently, never two
// for the same volume. Each call opens its own NFS connections; the backend holds no mutable
// state of its own.
// IDEMPOTENCY: every call is; a creation interrupted halfway is finished (or redone) by the
// next call with the same name.
#pragma once

#include <memory>
#include <string>

#include "nfs_client.hpp"
#include "nfs_settings.hpp"
#include "polycsi/plugin.hpp"
#include "volume_records.hpp"

namespace polycsi::nfs {

// Keys of the volume context the controller returns and the node reads.
inline constexpr char kContextServer[] = "server";
inline constexpr char kContextShare[] = "share";
inline constexpr char kContextSubDir[] = "subDir";

class NfsBackend : public Backend {
 public:
  // Name, version, metrics prefix, settings, parameters and the capability matrix.
  static Descriptor describe();

  // The optional members below; POLYCSI_PLUGIN checks them against this list.
  static constexpr Capabilities kCapabilities{.createFromSnapshot = true,
                                              .clone = true,
                                              .listVolumes = true,
                                              .capacity = true,
                                              .snapshots = true};

  // Parses the settings; touches no server (a controller connects per call). Throws
  // INVALID_ARGUMENT for bad settings.
  explicit NfsBackend(const InitContext& ctx);

  // ---- controller ----
  // Makes the volume's directory (subDir template, mountPermissions) and records it.
  Volume createVolume(const CreateVolumeRequest& req) override;
  // req.sourceId is a snapshot id; the directory starts as a server-side copy of it.
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  // req.sourceId is a volume id; the directory starts as a server-side copy of it.
  Volume cloneVolume(const CreateVolumeRequest& req);
  // Applies the volume's onDelete policy (delete, retain, archive), then forgets it.
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
  // Sorted by id; the token is the last id of the previous page (ABORTED when malformed).
  VolumePage listVolumes(const ListRequest& req);
  // The free space of the export's filesystem (server/share parameters choose the export).
  Capacity getCapacity(const CapacityRequest& req);
  // A full copy of the volume's directory in <share>/.snapshots/<id> on the same export.
  Snapshot createSnapshot(const CreateSnapshotRequest& req);
  void deleteSnapshot(const SnapshotIdRequest& req);
  SnapshotPage listSnapshots(const ListRequest& req);

  // ---- node ----
  // Empty: NFS exports here are not fenced per node.
  std::string nodeIdentity(const Call& call) override;
  // The mount source server:/share/subdir, type nfs and the configured mount options; the core
  // mounts it (and adds the StorageClass's mountOptions).
  Attachment attach(const AttachRequest& req) override;
  // Nothing to undo: the core unmounts.
  void detach(const DetachRequest& req) override;

 private:
  enum class SourceKind { kNone, kSnapshot, kVolume };
  struct Source {
    SourceKind kind = SourceKind::kNone;
    std::string id;
    NfsExport where;
    std::string path;  // the directory to copy, relative to where.share
    int64_t sizeBytes = 0;
  };

  NfsTarget targetFor(const NfsExport& where) const;
  std::unique_ptr<NfsSession> connect(const NfsExport& where, const Call& call) const;
  // A session on the home export, with the record directories in place.
  std::unique_ptr<NfsSession> connectHome(const Call& call) const;
  Volume createFrom(const CreateVolumeRequest& req, SourceKind kind);
  Source resolveSource(VolumeRecords& records, SourceKind kind, const std::string& id) const;
  // Makes (or finishes making) the directory of `record`, then marks it complete.
  void materialize(VolumeRecords& records, NfsSession& home, VolumeRecord& record,
                   const Source& source, const Call& call) const;
  VolumeRecord requireVolume(VolumeRecords& records, const std::string& id) const;
  static Volume toVolume(const VolumeRecord& record);
  static Snapshot toSnapshot(const SnapshotRecord& record);

  Host host_;
  std::string instanceName_;
  NfsSettings settings_;
};

}  // namespace polycsi::nfs
