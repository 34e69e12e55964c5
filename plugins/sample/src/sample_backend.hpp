// The sample backend: volumes are sparse files under a configured directory, attached on the
// node as loop devices. It runs on any Linux machine, which makes it the reference plugin for
// SDK users (every optional capability is implemented) and the target of CSI conformance runs.
//
// Controller calls work on the files (volume_files.hpp); node calls bind them to loop devices
// (loop_device.hpp). The controller and the node plugin must see the directory at the same path
// (one machine, or a shared filesystem mounted alike everywhere).
//
// THREADING: as every polycsi backend: calls for different volumes run concurrently, never two
// for the same volume. Shared state is the directory (per-id files) and the space reservations
// (internally locked).
// IDEMPOTENCY: every call is; creating by the same name returns the same object, deleting or
// detaching what is gone succeeds.
#pragma once

#include <string>

#include "polycsi/plugin.hpp"
#include "sample_settings.hpp"
#include "space_reservations.hpp"
#include "volume_files.hpp"

namespace polycsi::sample {

class SampleBackend : public Backend {
 public:
  // Name, version, metrics prefix, settings and the capability matrix (see README.md).
  static Descriptor describe();
  // The plugin's check_settings: what the constructor refuses in ctx's settings.
  static void checkSettings(const InitContext& ctx) { SampleSettings::parse(ctx.settings); }

  // The optional members below; POLYCSI_PLUGIN checks them against this list.
  static constexpr Capabilities kCapabilities{.createFromSnapshot = true,
                                              .clone = true,
                                              .listVolumes = true,
                                              .expand = true,
                                              .capacity = true,
                                              .snapshots = true,
                                              .nodeExpand = true,
                                              .volumeCondition = true,
                                              .modifyVolume = true,
                                              .findVolume = true,
                                              .controllerVolumeCondition = true};

  // Parses the settings and opens (creating when missing) the directory. A controller also
  // removes leftovers of creations interrupted by a crash. Throws INVALID_ARGUMENT for bad
  // settings.
  explicit SampleBackend(const InitContext& ctx);

  // ---- controller ----
  Volume createVolume(const CreateVolumeRequest& req) override;
  // Waits create_delay_ms (fault injection), honouring the call's deadline and cancellation.
  void injectCreateDelay(const Call& call) const;
  // req.sourceId is a snapshot id; the volume starts as a copy of it.
  Volume createVolumeFromSnapshot(const CreateVolumeRequest& req);
  // req.sourceId is a volume id; the volume starts as a copy of it.
  Volume cloneVolume(const CreateVolumeRequest& req);
  void deleteVolume(const VolumeIdRequest& req) override;
  Volume getVolume(const VolumeIdRequest& req) override;
  // The volume createVolume made for req.name (its id derives from the name, local_ids.hpp);
  // NOT_FOUND when there is none. Reads one metadata file; creates nothing.
  Volume findVolume(const FindVolumeRequest& req);
  // Sorted by id; the token is the last id of the previous page (ABORTED when malformed).
  VolumePage listVolumes(const ListRequest& req);
  // Grows the image (never shrinks); the node must then refresh its loop device.
  ExpandResult expandVolume(const ExpandRequest& req);
  Capacity getCapacity(const CapacityRequest& req);
  // Sets the mutable parameter `tier` of an existing volume (ControllerModifyVolume): recorded
  // in its metadata and reported in its volume context. Idempotent.
  void modifyVolume(const ModifyVolumeRequest& req);
  Snapshot createSnapshot(const CreateSnapshotRequest& req);
  void deleteSnapshot(const SnapshotIdRequest& req);
  SnapshotPage listSnapshots(const ListRequest& req);
  // The controller's view of each volume (sample_condition.cc): abnormal when its record is
  // gone, or its image file is missing or no longer the volume's size (changed behind the
  // driver's back). The sample has no fencing, so published nodes are not compared.
  std::vector<VolumeCondition> controllerVolumeConditions(const ControllerConditionRequest& req);

  // ---- node ----
  // Empty: files need no host identity.
  std::string nodeIdentity(const Call& call) override;
  // Binds the image to a loop device, or returns the one already bound to it.
  Attachment attach(const AttachRequest& req) override;
  // Unbinds every loop device backed by the volume's image.
  void detach(const DetachRequest& req) override;
  // Makes the loop device take the grown size of its image.
  void nodeExpand(const NodeExpandRequest& req);
  // Abnormal when the image is missing or no loop device serves it.
  VolumeCondition volumeCondition(const DetachRequest& req);

 private:
  enum class SourceKind { kNone, kSnapshot, kVolume };
  struct Source {
    SourceKind kind = SourceKind::kNone;
    std::string id;
    std::filesystem::path image;
    int64_t sizeBytes = 0;
  };

  Volume createFrom(const CreateVolumeRequest& req, const Source& source);
  Source resolveSource(SourceKind kind, const std::string& id) const;
  // The committed volume `id`; NOT_FOUND when it does not exist, INVALID_ARGUMENT when malformed.
  VolumeRecord requireVolume(const std::string& id) const;
  // Bytes new objects may still use, ignoring in-flight reservations.
  int64_t unreservedBytes() const;
  static Volume toVolume(const VolumeRecord& record);
  static Snapshot toSnapshot(const SnapshotRecord& record);

  Host host_;
  std::string instanceName_;
  SampleSettings settings_;
  VolumeFiles files_;
  SpaceReservations reservations_;
};

}  // namespace polycsi::sample
