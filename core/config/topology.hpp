// Topology: which nodes reach a backend. A backend may declare a topology segment in the config
//
//   backends:
//     - name: rds-a
//       plugin: rds_nvme
//       topology:                        # optional; keys and values as Kubernetes labels
//         topology.polycsi.io/rack: r1
//
// meaning "nodes whose topology has rack=r1 reach this backend". A backend without topology is
// reachable from every node. The CSI spec gives segment keys the shape of Kubernetes label keys
// (an optional DNS-subdomain prefix and '/', then a name of at most 63 characters) and values the
// shape of label values, non-empty (csi.proto, message Topology); docs/configuration.md.
//
// THREADING: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "config/driver_config.hpp"
#include "polycsi/types.hpp"

namespace polycsi::config {

// Why `key` is not a Kubernetes label key (prefix/name), or "" when it is one.
std::string labelKeyProblem(std::string_view key);
// Why `value` is not a non-empty Kubernetes label value, or "" when it is one.
std::string labelValueProblem(std::string_view value);

// True when a backend with topology `segments` is accessible from a node (or a CSI Topology)
// with `requested` segments: every key the backend declares is present in `requested` with the
// same value. Keys of `requested` the backend does not name (e.g. kubernetes.io/hostname) do not
// matter; a backend without segments is accessible from everywhere.
bool segmentsServe(const StringMap& segments, const StringMap& requested);

// The topology a node serving `config`'s backends reports in NodeGetInfo: the union of their
// segments. INVALID_ARGUMENT naming both backends when two give one key different values (one
// node sits in one segment per key: list in a node's configuration only the backends it
// reaches, docs/configuration.md "Topology").
StatusOr<StringMap> nodeTopology(const DriverConfig& config);

// True when any backend declares topology (the core then advertises
// VOLUME_ACCESSIBILITY_CONSTRAINTS).
bool anyTopology(const DriverConfig& config);

}  // namespace polycsi::config
