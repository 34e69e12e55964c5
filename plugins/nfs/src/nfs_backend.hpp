// The nfs backend: every volume is a subdirectory of an NFS export, created, copied and removed
// by the controller through libnfs (no kernel client, no privileged mount), and mounted on the
// node by the core as `server:/export/subdir`. For RWX filesystem volumes, which KubeVirt can
// live-migrate; any NFS server works (a PowerStore NAS export, a Linux knfsd or nfs-ganesha).
//
// Not offered, on purpose: raw block volumes (an export holds files) and expansion (NFS has no
// per-directory size limit, so a volume's size is a label the plugin cannot enforce; see
// README.md).
//
// Copies (snapshots, restores, clones) run as background jobs (copy_jobs.hpp) that outlive the
// call which started them, into a staging directory renamed into place once complete: a call
// waits for its copy at most half of its remaining time, then answers (a snapshot not ready to
// use yet, or ABORTED for a volume), and the retry finds the same copy running.
//
// THREADING: as every polycsi backend: calls for different volumes run concurrently, never two
// for the same volume. Each call and each copy opens its own NFS connections; the only mutable
// state is the table of copies, which is thread-safe. The destructor stops every copy.
// IDEMPOTENCY: every call is; a creation interrupted halfway is finished (or redone) by the
// next call with the same name.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "nfs_client.hpp"
#include "nfs_mount_health.hpp"
#include "nfs_settings.hpp"
#include "polycsi/copy_jobs.hpp"
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
  // The plugin's check_settings: what the constructor refuses in ctx's settings.
  static void checkSettings(const InitContext& ctx) {
    NfsSettings::parse(ctx.settings, ctx.role != Role::kNode);
  }

  // The optional members below; POLYCSI_PLUGIN checks them against this list.
  static constexpr Capabilities kCapabilities{.createFromSnapshot = true,
                                              .clone = true,
                                              .listVolumes = true,
                                              .capacity = true,
                                              .snapshots = true,
                                              .volumeCondition = true,
                                              .findVolume = true,
                                              .controllerVolumeCondition = true};

  // Parses the settings; touches no server (a controller connects per call). Throws
  // INVALID_ARGUMENT for bad settings.
  explicit NfsBackend(const InitContext& ctx) : NfsBackend(ctx, nullptr) {}
  // `afterCopyProgress` runs on a copy's thread after each progress report
  // (CopyJobs::Options::afterProgress): tests hold a copy at a known point with it.
  NfsBackend(const InitContext& ctx,
             std::function<void(const std::string& key, const Call& call)> afterCopyProgress);

  // ---- controller ----
  // Makes the volume's directory (subDir template, mountPermissions) and records it.
  Volume createVolume(const CreateVolumeRequest& req) override;
  // req.sourceId is a snapshot id; the directory starts as a server-side copy of it. ABORTED
  // while the copy runs on after this call: the retry waits for the same copy.
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  // req.sourceId is a volume id; the directory starts as a server-side copy of it. ABORTED
  // while the copy runs on after this call, as createVolumeFromSnapshot.
  Volume cloneVolume(const CreateVolumeRequest& req);
  // Stops a copy into the volume that is still running and removes its staging directory,
  // then applies the volume's onDelete policy (delete, retain, archive) and forgets it.
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
  // The volume recorded on the home export under the id createVolume derives from req.name,
  // also one whose creation was interrupted (the retry must land here to finish it); NOT_FOUND
  // when there is no record of that name. Whatever its size, export or source: createVolume
  // on this backend then decides (ALREADY_EXISTS when it does not fit the request). Reads
  // only: the record directories are not created when missing.
  Volume findVolume(const FindVolumeRequest& req);
  // Sorted by id; the token is the last id of the previous page (ABORTED when malformed).
  VolumePage listVolumes(const ListRequest& req);
  // The free space of the export's filesystem (server/share parameters choose the export).
  Capacity getCapacity(const CapacityRequest& req);
  // A full copy of the volume's directory in <share>/.snapshots/<id> on the same export.
  // readyToUse is false while the copy runs on after this call; the external-snapshotter calls
  // again until it is true, and each call finds the same copy.
  Snapshot createSnapshot(const CreateSnapshotRequest& req);
  // Stops the snapshot's copy if it still runs, removes what it made, then forgets it.
  void deleteSnapshot(const SnapshotIdRequest& req);
  SnapshotPage listSnapshots(const ListRequest& req);
  // The controller's view of each volume (nfs_condition.cc): abnormal when its record is gone
  // or its directory is missing or not a directory on its export; an export that does not
  // answer within the configured timeout makes its volumes abnormal naming server and path.
  // One READDIR per parent directory, not one lookup per volume.
  std::vector<VolumeCondition> controllerVolumeConditions(const ControllerConditionRequest& req);

  // ---- node ----
  // Empty: NFS exports here are not fenced per node.
  std::string nodeIdentity(const Call& call) override;
  // The mount source server:/share/subdir, type nfs and the configured mount options; the core
  // mounts it (and adds the StorageClass's mountOptions).
  Attachment attach(const AttachRequest& req) override;
  // Nothing to undo: the core unmounts.
  void detach(const DetachRequest& req) override;
  // Abnormal when no NFS mount is at the staging path, or it does not answer a stat within
  // 5 s, or fails it (ESTALE) (nfs_mount_health.hpp).
  VolumeCondition volumeCondition(const DetachRequest& req);

 private:
  enum class SourceKind { kNone, kSnapshot, kVolume };
  struct Source {
    SourceKind kind = SourceKind::kNone;
    std::string id;
    NfsExport where;
    std::string path;  // the directory to copy, relative to where.share
    int64_t sizeBytes = 0;
  };

  // One copy through staging: `sourcePath` is copied into <where>/.polycsi/staging/<id>, which
  // is renamed to `targetPath` once complete.
  struct StagedCopy {
    std::string key;  // of the job: "snapshot/<id>" or "volume/<id>"
    std::string id;   // the record's id, which names the staging directory
    NfsExport where;  // the export holding the source and the copy
    std::string sourcePath;
    std::string targetPath;
    std::optional<int> mode;  // of the copy's top directory; the source's when unset
    int parentMode = 0755;    // of missing parents of targetPath
    bool staged = true;       // false: a record of an earlier version, which copied in place
    std::string what;         // for messages, e.g. "snapshot s-a of volume b"
  };

  NfsTarget targetFor(const NfsExport& where) const;
  std::unique_ptr<NfsSession> connect(const NfsExport& where, const Call& call) const;
  // A session on the home export, with the record directories in place.
  std::unique_ptr<NfsSession> connectHome(const Call& call) const;
  Volume createFrom(const CreateVolumeRequest& req, SourceKind kind);
  Source resolveSource(VolumeRecords& records, SourceKind kind, const std::string& id) const;
  // Makes (or finishes making) the empty directory of `record`, then marks it complete.
  void materialize(VolumeRecords& records, NfsSession& home, VolumeRecord& record,
                   const Call& call) const;
  // Gives `dir` permissions `mode` when the server did not apply them at creation.
  void ensureMode(NfsSession& target, const std::string& dir, int mode) const;
  // Starts or finds the volume's copy from `source`, waits for it (copyWait) and returns the
  // complete volume; ABORTED while it still runs.
  Volume copyInto(VolumeRecords& records, const VolumeRecord& record, const Source& source,
                  const Call& call);
  // The outcome of the copy job under `key`: collects one that finished earlier (throwing its
  // error), otherwise starts `work` unless it already runs, and waits for it at most half of
  // the call's remaining time. kRunning when it still runs; throws its error when it failed.
  CopyJobStatus awaitCopy(const std::string& key, const Call& call, CopyJobs::Work work);
  // The body of a copy job: the copy through staging, then `finish` on a session of the home
  // export (to record completion) with what was copied.
  void runStagedCopy(CopyJobs::Context& context, const StagedCopy& copy,
                     const std::function<void(NfsSession&, const CopyReport&)>& finish) const;
  // Removes what a copy into `where` under record id `id` left in staging.
  void removeStaging(NfsSession& target, const std::string& id, const Call& call) const;
  VolumeRecord requireVolume(VolumeRecords& records, const std::string& id) const;
  static Volume toVolume(const VolumeRecord& record);
  static Snapshot toSnapshot(const SnapshotRecord& record);

  Host host_;
  std::string instanceName_;
  NfsSettings settings_;
  BoundedStat mountProbe_;  // the node's stat of staging paths
  // Last: destroyed first, so every copy stops while what it uses still exists.
  CopyJobs copies_;
};

}  // namespace polycsi::nfs
