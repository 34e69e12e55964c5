// The scratch backend: volumes that are tmpfs filesystems, living in a node's memory while they
// are staged. A teaching example of the polycsi plugin SDK, built out of tree against the
// installed SDK (see ../README.md):
//   - controller side: volume records in the instance's state directory, a total-size budget
//     (tmpfs is RAM), idempotent create/delete, paged listing, capacity;
//   - node side: attach hands the core a MOUNT_SOURCE ("tmpfs", size and mode options) built
//     only from the volume context, because the node process has no access to the
//     controller's records; the core mounts, bind-mounts and unmounts it.
//
// THREADING: calls for different volumes may run concurrently (the polycsi ABI); creations and
// deletions take a mutex because they change the shared budget.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "polycsi/plugin.hpp"
#include "volume_store.hpp"

namespace scratch {

// Volume context keys the controller hands to the node through CreateVolume's volume_context.
inline constexpr const char* kSizeContextKey = "scratch.polycsi.io/size-bytes";
inline constexpr const char* kModeContextKey = "scratch.polycsi.io/mode";

// Sizes are whole pages; a request for 0 bytes gets the default.
inline constexpr int64_t kPageBytes = 4096;
inline constexpr int64_t kDefaultVolumeBytes = 64LL * 1024 * 1024;
inline constexpr int64_t kDefaultMaxTotalBytes = 1024LL * 1024 * 1024;
inline constexpr const char* kDefaultMode = "1777";

class ScratchBackend : public polycsi::Backend {
 public:
  // Name "scratch", capability matrix: RWO and RWOP filesystem exclusive, block and
  // multi-node modes unsupported with the reason shown to users.
  static polycsi::Descriptor describe();

  // Optional capabilities: the members listVolumes and getCapacity below. POLYCSI_PLUGIN
  // fails the build when this list and the members disagree.
  static constexpr polycsi::Capabilities kCapabilities{.listVolumes = true, .capacity = true};

  // Reads the settings (max_total_bytes) and opens the record directory in ctx.stateDir.
  // Throws polycsi::Error(kInvalidArgument) for a bad setting.
  explicit ScratchBackend(const polycsi::InitContext& ctx);

  // ---- controller ----
  polycsi::Volume createVolume(const polycsi::CreateVolumeRequest& req) override;
  void deleteVolume(const polycsi::VolumeIdRequest& req) override;
  polycsi::Volume getVolume(const polycsi::VolumeIdRequest& req) override;
  // Pages in id order; the token is the id to resume at.
  polycsi::VolumePage listVolumes(const polycsi::ListRequest& req);
  // What is left of max_total_bytes.
  polycsi::Capacity getCapacity(const polycsi::CapacityRequest& req);

  // ---- node ----
  // Empty: tmpfs needs no storage-side identity (and the plugin has no fencing).
  std::string nodeIdentity(const polycsi::Call& call) override;
  // A tmpfs mount source sized and moded from the volume context.
  polycsi::Attachment attach(const polycsi::AttachRequest& req) override;
  // Nothing to undo: unmounting the tmpfs (done by the core) already freed its memory.
  void detach(const polycsi::DetachRequest& req) override;

 private:
  polycsi::Volume toVolume(const VolumeRecord& record) const;
  // Sets the scratch_volumes and scratch_allocated_bytes gauges. Needs budgetMutex_.
  void reportAllocation();

  polycsi::Host host_;
  std::string instanceName_;
  int64_t maxTotalBytes_;
  VolumeStore store_;
  std::mutex budgetMutex_;  // serializes create/delete: they change the shared budget
};

}  // namespace scratch
