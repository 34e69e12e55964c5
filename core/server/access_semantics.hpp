// What a backend does for an access mode, as the core applies it.
//
// The core advertises SINGLE_NODE_MULTI_WRITER on the controller and the node for every
// plugin (docs/plugin-sdk.md: it is the core's own work), so kubelet sends
// SINGLE_NODE_MULTI_WRITER for ReadWriteOnce and SINGLE_NODE_SINGLE_WRITER for
// ReadWriteOncePod. Both are "one node" modes: how many writers share that node is enforced by
// the core's NodePublishVolume (node_publications.hpp), not by the storage system. A plugin that
// declares only SINGLE_NODE_WRITER (the sample, third-party plugins written before the
// single-node modes) therefore serves both with its SINGLE_NODE_WRITER semantics; a plugin that
// declares a single-node mode itself is taken at its word.
//
// THREADING: pure functions.
#pragma once

#include <string>

#include "polycsi/types.hpp"

namespace polycsi::server {

// The semantics the core applies to `access` with `volume` on a backend described by `d`.
AttachSemantics effectiveSemantics(const Descriptor& d, AccessMode access, VolumeMode volume);

// Why effectiveSemantics() is kUnsupported: the plugin's own reason for the pair it fell back
// to, or a generic one naming the mode asked for.
std::string effectiveUnsupportedReason(const Descriptor& d, AccessMode access, VolumeMode volume);

}  // namespace polycsi::server
