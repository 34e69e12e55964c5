#include "server/csi_snapshots.hpp"

#include "server/volume_routing.hpp"

namespace polycsi::server {

StatusOr<csi::v1::Snapshot> toCsiSnapshot(const plugin_host::ConfiguredBackend& backend,
                                          const Snapshot& s) {
  auto id = csiIdOf(backend, s.id);
  if (!id.isOk()) return id.status();
  auto source = csiIdOf(backend, s.sourceVolumeId);
  if (!source.isOk()) return source.status();
  csi::v1::Snapshot out;
  out.set_snapshot_id(*id);
  out.set_source_volume_id(*source);
  out.set_size_bytes(s.sizeBytes);
  out.mutable_creation_time()->set_seconds(s.creationTimeUnixNs / 1000000000);
  out.mutable_creation_time()->set_nanos(static_cast<int32_t>(s.creationTimeUnixNs % 1000000000));
  out.set_ready_to_use(s.readyToUse);
  if (!s.groupSnapshotId.empty()) {
    auto group = csiIdOf(backend, s.groupSnapshotId);
    if (!group.isOk()) return group.status();
    out.set_group_snapshot_id(*group);
  }
  return out;
}

}  // namespace polycsi::server
