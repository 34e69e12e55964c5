#include "server/access_semantics.hpp"

namespace polycsi::server {
namespace {

bool declares(const Descriptor& d, AccessMode access, VolumeMode volume) {
  for (const auto& c : d.capabilities)
    if (c.accessMode == access && c.volumeMode == volume) return true;
  return false;
}

// The mode whose declaration decides `access`: itself when declared, SINGLE_NODE_WRITER for an
// undeclared single-node mode.
AccessMode decidingMode(const Descriptor& d, AccessMode access, VolumeMode volume) {
  bool singleNode =
      access == AccessMode::kSingleNodeMultiWriter || access == AccessMode::kSingleNodeSingleWriter;
  if (singleNode && !declares(d, access, volume)) return AccessMode::kSingleNodeWriter;
  return access;
}

}  // namespace

AttachSemantics effectiveSemantics(const Descriptor& d, AccessMode access, VolumeMode volume) {
  return d.semanticsFor(decidingMode(d, access, volume), volume);
}

std::string effectiveUnsupportedReason(const Descriptor& d, AccessMode access, VolumeMode volume) {
  AccessMode deciding = decidingMode(d, access, volume);
  if (deciding == access) return d.unsupportedReason(access, volume);
  return d.unsupportedReason(deciding, volume) + " (" + accessModeName(access) + " is served as " +
         accessModeName(deciding) + ")";
}

}  // namespace polycsi::server
