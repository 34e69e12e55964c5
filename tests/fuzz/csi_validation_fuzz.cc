// Fuzz target: the CSI request rules the core enforces (core/server/csi_validation.cc) on
// requests as they arrive over gRPC.
//
// The first input byte picks a request type, the rest is that request in protobuf wire format
// (seeds: corpus/csi_validation_fuzz/*, made by make_csi_seeds.sh). Each rule is compared with
// an independent statement of what it must accept, in both directions: a request is accepted
// exactly when the rule says so, and a refusal is INVALID_ARGUMENT naming the field.
#include <google/protobuf/stubs/logging.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "csi.pb.h"
#include "fuzz_check.hpp"
#include "server/csi_validation.hpp"
#include "volume/volume_id.hpp"

namespace {

using polycsi::AccessMode;
using polycsi::Code;
using polycsi::Status;
using polycsi::VolumeMode;
using polycsi::fuzz::visible;
namespace server = polycsi::server;
namespace v1 = csi::v1;

void expectRefusal(const Status& status, const std::string& field) {
  POLYCSI_FUZZ_CHECK(status.code() == Code::kInvalidArgument, status.toString());
  POLYCSI_FUZZ_CHECK(status.message().find(field) != std::string::npos,
                     "'" + status.message() + "' does not name " + field);
}

// Absolute, no NUL or newline, no ".." component.
bool pathAcceptable(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (char c : path)
    if (c == '\0' || c == '\n') return false;
  std::string component;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (component == "..") return false;
      component.clear();
    } else {
      component += path[i];
    }
  }
  return true;
}

void checkPath(const std::string& path, const char* field) {
  const Status status = server::checkPath(path, field);
  POLYCSI_FUZZ_CHECK(status.isOk() == pathAcceptable(path),
                     std::string(field) + " '" + visible(path) + "': " + status.toString());
  if (!status.isOk()) expectRefusal(status, field);
}

void checkCapacity(const v1::CapacityRange& range) {
  const int64_t required = range.required_bytes();
  const int64_t limit = range.limit_bytes();
  const bool acceptable = required >= 0 && limit >= 0 && (limit == 0 || required <= limit);
  const Status status = server::checkCapacityRange(range);
  POLYCSI_FUZZ_CHECK(status.isOk() == acceptable, "required " + std::to_string(required) +
                                                      " limit " + std::to_string(limit) + ": " +
                                                      status.toString());
  if (!status.isOk()) expectRefusal(status, "capacity_range");
}

void checkCapability(const v1::VolumeCapability& capability, const char* field) {
  const auto result = server::checkCapability(capability, field);
  bool acceptable = true;
  VolumeMode volumeMode = VolumeMode::kFilesystem;
  if (capability.has_block()) {
    volumeMode = VolumeMode::kBlock;
  } else if (capability.has_mount()) {
    const std::string& fs = capability.mount().fs_type();
    acceptable =
        fs.empty() || fs == "ext4" || fs == "ext3" || fs == "xfs" || fs == "nfs" || fs == "nfs4";
    for (const std::string& flag : capability.mount().mount_flags())
      if (flag.empty() || flag.find('\n') != std::string::npos ||
          flag.find('\0') != std::string::npos)
        acceptable = false;
  } else {
    acceptable = false;
  }
  const int mode = capability.access_mode().mode();
  if (!capability.has_access_mode() || mode < 1 || mode > 7) acceptable = false;
  POLYCSI_FUZZ_CHECK(result.isOk() == acceptable,
                     std::string(field) + " " + visible(capability.ShortDebugString()) + ": " +
                         (result.isOk() ? std::string("accepted") : result.status().toString()));
  if (!result.isOk()) {
    expectRefusal(result.status(), field);
    return;
  }
  POLYCSI_FUZZ_CHECK(result->volume == volumeMode, capability.ShortDebugString());
  POLYCSI_FUZZ_CHECK(static_cast<int>(result->access) == mode, capability.ShortDebugString());
  POLYCSI_FUZZ_CHECK(result->access != AccessMode::kUnknown, capability.ShortDebugString());
}

void checkMigrationTimeout(const google::protobuf::Map<std::string, std::string>& parameters) {
  const auto result = server::migrationTimeoutSeconds(parameters);
  auto it = parameters.find(server::kMigrationTimeoutParameter);
  if (it == parameters.end()) {
    POLYCSI_FUZZ_CHECK(result.isOk() && *result == server::kMigrationTimeoutDefault,
                       "no migrationTimeoutSeconds but not the default");
    return;
  }
  // Decimal digits, at most an optional '-' in front, between 30 and 3600.
  std::string_view text = it->second;
  bool acceptable = !text.empty() && text.front() != '-';
  for (char c : text) acceptable = acceptable && c >= '0' && c <= '9';
  long value = -1;
  if (acceptable) {
    std::string_view digits = text.substr(std::min(text.find_first_not_of('0'), text.size()));
    acceptable = digits.size() <= 4;
    if (acceptable) value = digits.empty() ? 0 : std::stol(std::string(digits));
    acceptable = acceptable && value >= server::kMigrationTimeoutMin &&
                 value <= server::kMigrationTimeoutMax;
  }
  POLYCSI_FUZZ_CHECK(result.isOk() == acceptable,
                     "migrationTimeoutSeconds '" + visible(text) + "': " +
                         (result.isOk() ? std::to_string(*result) : result.status().toString()));
  if (result.isOk())
    POLYCSI_FUZZ_CHECK(*result == value, visible(text) + " read as " + std::to_string(*result));
  else
    expectRefusal(result.status(), server::kMigrationTimeoutParameter);
}

void checkRequired(const std::string& value, const char* field) {
  const Status status = server::requireField(value, field);
  POLYCSI_FUZZ_CHECK(status.isOk() == !value.empty(), field);
  if (!status.isOk()) expectRefusal(status, field);
}

template <typename Request>
bool parse(Request& request, std::string_view wire) {
  return request.ParseFromArray(wire.data(), static_cast<int>(wire.size()));
}

}  // namespace

// Protobuf logs every string field that is not UTF-8 (then refuses the message): noise here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0: {
      v1::CreateVolumeRequest req;
      if (!parse(req, wire)) return 0;
      checkRequired(req.name(), "name");
      for (const auto& capability : req.volume_capabilities())
        checkCapability(capability, "volume_capabilities[0]");
      checkCapacity(req.capacity_range());
      checkMigrationTimeout(req.parameters());
      break;
    }
    case 1: {
      v1::NodeStageVolumeRequest req;
      if (!parse(req, wire)) return 0;
      checkRequired(req.volume_id(), "volume_id");
      checkPath(req.staging_target_path(), "staging_target_path");
      checkCapability(req.volume_capability(), "volume_capability");
      break;
    }
    case 2: {
      v1::NodePublishVolumeRequest req;
      if (!parse(req, wire)) return 0;
      checkPath(req.target_path(), "target_path");
      checkPath(req.staging_target_path(), "staging_target_path");
      checkCapability(req.volume_capability(), "volume_capability");
      break;
    }
    case 3: {
      v1::NodeExpandVolumeRequest req;
      if (!parse(req, wire)) return 0;
      checkRequired(req.volume_id(), "volume_id");
      checkPath(req.volume_path(), "volume_path");
      checkCapacity(req.capacity_range());
      break;
    }
    case 4: {
      v1::ControllerPublishVolumeRequest req;
      if (!parse(req, wire)) return 0;
      checkRequired(req.volume_id(), "volume_id");
      checkRequired(req.node_id(), "node_id");
      checkCapability(req.volume_capability(), "volume_capability");
      // The server routes by these; a refusal must carry the code CSI prescribes.
      if (auto id = polycsi::volume::decodeVolumeId(req.volume_id()); !id.isOk())
        POLYCSI_FUZZ_CHECK(id.status().code() == Code::kNotFound, id.status().toString());
      if (auto node = polycsi::volume::decodeNodeId(req.node_id()); !node.isOk())
        POLYCSI_FUZZ_CHECK(node.status().code() == Code::kInvalidArgument,
                           node.status().toString());
      break;
    }
    case 5: {
      v1::ValidateVolumeCapabilitiesRequest req;
      if (!parse(req, wire)) return 0;
      checkRequired(req.volume_id(), "volume_id");
      for (const auto& capability : req.volume_capabilities())
        checkCapability(capability, "volume_capabilities[0]");
      checkMigrationTimeout(req.parameters());
      break;
    }
  }
  return 0;
}
