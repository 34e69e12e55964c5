#include "server/node_publications.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cstdint>
#include <cstdio>

namespace polycsi::server {
namespace {

// A stable fingerprint of a message: FNV-1a over its deterministic wire form (map fields in
// key order), as 16 hex digits. Stable across restarts and builds, which std::hash is not.
std::string fingerprintOf(const google::protobuf::MessageLite& message) {
  std::string wire;
  {
    google::protobuf::io::StringOutputStream stream(&wire);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : wire) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

// Modes whose volume may be published at several targets of one node at once.
bool allowsSeveralTargets(AccessMode access) {
  switch (access) {
    case AccessMode::kSingleNodeMultiWriter:
    case AccessMode::kMultiNodeReaderOnly:
    case AccessMode::kMultiNodeSingleWriter:
    case AccessMode::kMultiNodeMultiWriter:
      return true;
    default:
      return false;
  }
}

}  // namespace

NodePublication publicationOf(const csi::v1::NodePublishVolumeRequest& req, AccessMode access) {
  csi::v1::NodePublishVolumeRequest arguments = req;
  arguments.clear_target_path();
  arguments.clear_secrets();
  return NodePublication{req.target_path(), access, fingerprintOf(req.volume_capability()),
                         fingerprintOf(arguments)};
}

Status checkSecondPublish(const std::string& volumeId, const std::vector<NodePublication>& live,
                          const NodePublication& wanted) {
  for (const NodePublication& p : live) {
    if (p.targetPath != wanted.targetPath) continue;
    if (p.arguments == wanted.arguments) return Status::ok();
    return Status(Code::kAlreadyExists,
                  "volume " + volumeId + " is already published at " + p.targetPath +
                      " with other arguments (volume_capability, readonly or context differ); "
                      "unpublish it first");
  }
  for (const NodePublication& p : live) {
    if (p.capability != wanted.capability)
      return Status(Code::kFailedPrecondition,
                    "volume " + volumeId + " is published at " + p.targetPath + " as " +
                        accessModeName(p.access) +
                        " with another volume_capability; a second publication must ask for "
                        "the same capability");
    if (!allowsSeveralTargets(wanted.access))
      return Status(Code::kFailedPrecondition,
                    "volume " + volumeId + " is " + accessModeName(wanted.access) +
                        " and already published on this node at " + p.targetPath +
                        "; it may be published at one target only");
  }
  return Status::ok();
}

}  // namespace polycsi::server
