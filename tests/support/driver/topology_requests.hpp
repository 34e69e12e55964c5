// The topology segments the multi-backend tests build requests from and read answers with:
// racks r1 and r2 under one label key, as docs/topology.md's examples name them.
#pragma once

#include <map>
#include <string>

#include "csi.pb.h"

namespace polycsi::testing {

using Segments = std::map<std::string, std::string>;

inline constexpr char kRack[] = "topology.polycsi.io/rack";
inline const Segments kR1{{kRack, "r1"}};
inline const Segments kR2{{kRack, "r2"}};

inline csi::v1::Topology topology(const Segments& segments) {
  csi::v1::Topology t;
  for (const auto& [key, value] : segments) (*t.mutable_segments())[key] = value;
  return t;
}

inline Segments segmentsOf(const csi::v1::Topology& t) {
  return Segments(t.segments().begin(), t.segments().end());
}

// The backend a driver-level volume id names ("<backend>:<local id>").
inline std::string backendOf(const std::string& volumeId) {
  return volumeId.substr(0, volumeId.find(':'));
}

}  // namespace polycsi::testing
