#include "volume_output.hpp"

#include "byte_size.hpp"
#include "output.hpp"

namespace polycsi::csictl {

std::string formatCapacity(std::int64_t bytes) {
  return bytes == 0 ? "unknown" : formatBytes(bytes);
}

std::string formatTopologies(
    const google::protobuf::RepeatedPtrField<csi::v1::Topology>& topologies) {
  if (topologies.empty()) return "-";
  std::string text;
  for (const csi::v1::Topology& topology : topologies) {
    if (!text.empty()) text += ";";
    text += formatStringMap(topology.segments());
  }
  return text;
}

std::string describeVolume(const csi::v1::Volume& volume) {
  std::string text = "volume " + volume.volume_id() + "  capacity " +
                     formatCapacity(volume.capacity_bytes()) + "  context " +
                     formatStringMap(volume.volume_context());
  const csi::v1::VolumeContentSource& source = volume.content_source();
  if (source.has_snapshot()) text += "  source snapshot " + source.snapshot().snapshot_id();
  if (source.has_volume()) text += "  source volume " + source.volume().volume_id();
  if (!volume.accessible_topology().empty()) {
    text += "  topology " + formatTopologies(volume.accessible_topology());
  }
  return text;
}

std::string describeSnapshot(const csi::v1::Snapshot& snapshot) {
  std::string text = "snapshot " + snapshot.snapshot_id() + "  source " +
                     snapshot.source_volume_id() + "  size " +
                     formatCapacity(snapshot.size_bytes()) + "  ready " +
                     (snapshot.ready_to_use() ? "true" : "false") + "  created " +
                     formatTimestamp(snapshot.creation_time());
  if (!snapshot.group_snapshot_id().empty()) text += "  group " + snapshot.group_snapshot_id();
  return text;
}

std::string describeCondition(bool reported, const csi::v1::VolumeCondition& condition) {
  if (!reported) return "-";
  if (!condition.abnormal()) return "healthy";
  return "abnormal: " + condition.message();
}

}  // namespace polycsi::csictl
