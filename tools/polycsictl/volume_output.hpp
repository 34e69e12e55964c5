// Human-readable lines for CSI volumes and snapshots, shared by the controller and snapshot
// commands. Pure functions, thread-safe.
#pragma once

#include <string>

#include "csi.pb.h"

namespace polycsi::csictl {

// "1.0 GiB", or "unknown" for 0 (CSI's "capacity not reported").
std::string formatCapacity(std::int64_t bytes);

// "volume <id>  capacity 1.0 GiB  context k=v[  source snapshot <id>][  topology ...]".
std::string describeVolume(const csi::v1::Volume& volume);

// "snapshot <id>  source <volume>  size 1.0 GiB  ready true  created <RFC 3339>".
std::string describeSnapshot(const csi::v1::Snapshot& snapshot);

// "healthy", "abnormal: <message>" or "-" when the driver does not report conditions.
std::string describeCondition(bool reported, const csi::v1::VolumeCondition& condition);

// Segments of each topology, "k=v,k=v;k=v", or "-" when there are none.
std::string formatTopologies(
    const google::protobuf::RepeatedPtrField<csi::v1::Topology>& topologies);

}  // namespace polycsi::csictl
