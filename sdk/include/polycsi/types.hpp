// C++ vocabulary of the polycsi plugin SDK: status codes, errors and the request/result types
// that mirror plugin_abi.h. Header-only; used by plugins (through plugin.hpp) and by hosts
// (through plugin_client.hpp). No type here crosses the .so boundary: only the C structs do.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "polycsi/plugin_abi.h"

namespace polycsi {

// Same values as gRPC status codes and polycsi_code.
enum class Code : int {
  kOk = POLYCSI_OK,
  kCancelled = POLYCSI_CANCELLED,
  kUnknown = POLYCSI_UNKNOWN,
  kInvalidArgument = POLYCSI_INVALID_ARGUMENT,
  kDeadlineExceeded = POLYCSI_DEADLINE_EXCEEDED,
  kNotFound = POLYCSI_NOT_FOUND,
  kAlreadyExists = POLYCSI_ALREADY_EXISTS,
  kPermissionDenied = POLYCSI_PERMISSION_DENIED,
  kResourceExhausted = POLYCSI_RESOURCE_EXHAUSTED,
  kFailedPrecondition = POLYCSI_FAILED_PRECONDITION,
  kAborted = POLYCSI_ABORTED,
  kOutOfRange = POLYCSI_OUT_OF_RANGE,
  kUnimplemented = POLYCSI_UNIMPLEMENTED,
  kInternal = POLYCSI_INTERNAL,
  kUnavailable = POLYCSI_UNAVAILABLE,
};

// Upper-case gRPC name of a code, e.g. "FAILED_PRECONDITION".
inline const char* codeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kCancelled:
      return "CANCELLED";
    case Code::kUnknown:
      return "UNKNOWN";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kAlreadyExists:
      return "ALREADY_EXISTS";
    case Code::kPermissionDenied:
      return "PERMISSION_DENIED";
    case Code::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case Code::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case Code::kAborted:
      return "ABORTED";
    case Code::kOutOfRange:
      return "OUT_OF_RANGE";
    case Code::kUnimplemented:
      return "UNIMPLEMENTED";
    case Code::kInternal:
      return "INTERNAL";
    case Code::kUnavailable:
      return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

// An outcome: a code and a message a user can act on.
class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool isOk() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "CODE: message", for logs and errors.
  std::string toString() const { return std::string(codeName(code_)) + ": " + message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    if (status_.isOk()) throw std::logic_error("StatusOr built from an OK status without value");
  }
  bool isOk() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return checked(); }
  const T& value() const& { return const_cast<StatusOr*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return const_cast<StatusOr*>(this)->checked(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<StatusOr*>(this)->checked(); }

 private:
  T& checked() {
    if (!value_) throw std::logic_error("StatusOr has no value: " + status_.toString());
    return *value_;
  }
  Status status_;
  std::optional<T> value_;
};

// Thrown by plugin code to return a specific code; the SDK's export layer turns it (and any
// other exception) into a polycsi_code plus message at the boundary.
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const { return code_; }
  Status status() const { return Status(code_, what()); }

 private:
  Code code_;
};

using StringMap = std::map<std::string, std::string>;

enum class AccessMode : int {
  kUnknown = POLYCSI_ACCESS_UNKNOWN,
  kSingleNodeWriter = POLYCSI_ACCESS_SINGLE_NODE_WRITER,
  kSingleNodeReaderOnly = POLYCSI_ACCESS_SINGLE_NODE_READER_ONLY,
  kMultiNodeReaderOnly = POLYCSI_ACCESS_MULTI_NODE_READER_ONLY,
  kMultiNodeSingleWriter = POLYCSI_ACCESS_MULTI_NODE_SINGLE_WRITER,
  kMultiNodeMultiWriter = POLYCSI_ACCESS_MULTI_NODE_MULTI_WRITER,
  kSingleNodeSingleWriter = POLYCSI_ACCESS_SINGLE_NODE_SINGLE_WRITER,
  kSingleNodeMultiWriter = POLYCSI_ACCESS_SINGLE_NODE_MULTI_WRITER,
};

enum class VolumeMode : int {
  kBlock = POLYCSI_VOLUME_MODE_BLOCK,
  kFilesystem = POLYCSI_VOLUME_MODE_FILESYSTEM,
};

enum class AttachSemantics : int {
  kUnsupported = POLYCSI_ATTACH_UNSUPPORTED,
  kExclusive = POLYCSI_ATTACH_EXCLUSIVE,
  kShared = POLYCSI_ATTACH_SHARED,
  kMigrationWindow = POLYCSI_ATTACH_MIGRATION_WINDOW,
};

inline const char* accessModeName(AccessMode mode) {
  switch (mode) {
    case AccessMode::kUnknown:
      return "UNKNOWN";
    case AccessMode::kSingleNodeWriter:
      return "SINGLE_NODE_WRITER";
    case AccessMode::kSingleNodeReaderOnly:
      return "SINGLE_NODE_READER_ONLY";
    case AccessMode::kMultiNodeReaderOnly:
      return "MULTI_NODE_READER_ONLY";
    case AccessMode::kMultiNodeSingleWriter:
      return "MULTI_NODE_SINGLE_WRITER";
    case AccessMode::kMultiNodeMultiWriter:
      return "MULTI_NODE_MULTI_WRITER";
    case AccessMode::kSingleNodeSingleWriter:
      return "SINGLE_NODE_SINGLE_WRITER";
    case AccessMode::kSingleNodeMultiWriter:
      return "SINGLE_NODE_MULTI_WRITER";
  }
  return "UNKNOWN";
}

inline const char* volumeModeName(VolumeMode mode) {
  return mode == VolumeMode::kBlock ? "block" : "filesystem";
}

inline const char* semanticsName(AttachSemantics s) {
  switch (s) {
    case AttachSemantics::kUnsupported:
      return "unsupported";
    case AttachSemantics::kExclusive:
      return "exclusive";
    case AttachSemantics::kShared:
      return "shared";
    case AttachSemantics::kMigrationWindow:
      return "migration_window";
  }
  return "unsupported";
}

struct Capability {
  AccessMode accessMode;
  VolumeMode volumeMode;
  AttachSemantics semantics;
  std::string reason;  // why unsupported; empty otherwise
};

enum class SettingKind : int {
  kString = POLYCSI_SETTING_STRING,
  kInteger = POLYCSI_SETTING_INTEGER,
  kBoolean = POLYCSI_SETTING_BOOLEAN,
  kStructured = POLYCSI_SETTING_STRUCTURED,
};

// Which half of the driver a process runs (`polycsi serve --mode`); kAll is both.
enum class Role : int {
  kController = POLYCSI_ROLE_CONTROLLER,
  kNode = POLYCSI_ROLE_NODE,
  kAll = POLYCSI_ROLE_ALL,
};

// "controller", "node" or "controller and node", for messages.
inline const char* roleName(Role role) {
  switch (role) {
    case Role::kController:
      return "controller";
    case Role::kNode:
      return "node";
    case Role::kAll:
      break;
  }
  return "controller and node";
}

struct SettingSpec {
  std::string name;
  SettingKind kind = SettingKind::kString;
  bool required = false;  // the key must be present in every role
  bool secret = false;
  std::string description;
  // The role that needs the key present although the other does not (e.g. kController for a
  // storage system's address a node never contacts); nullopt when `required` alone decides.
  std::optional<Role> requiredIn;
  // since 1.3 (modify volume). Parameters only: a VolumeAttributesClass may set it, so
  // ControllerModifyVolume may change it on a live volume and CreateVolume accepts it among
  // mutable_parameters (polycsi_descriptor.parameter_mutable). The backend must then have
  // kCapabilities.modifyVolume.
  bool isMutable = false;

  // Whether a process serving `serving` needs the key: a process serving both roles needs
  // what either needs.
  bool requiredFor(Role serving) const {
    return required ||
           (requiredIn && (static_cast<int>(*requiredIn) & static_cast<int>(serving)) != 0);
  }
};

// ---- since ABI 1.3: group snapshots ----
// What a group snapshot of a plugin's volumes guarantees (polycsi_group_consistency).
enum class GroupConsistency {
  kNone = 0,               // no group snapshots
  kPerVolumeSequence = 1,  // members taken one after the other in one pass
  kCrashConsistent = 2,    // all members cut at one instant
};

// "none", "per-volume-sequence", "crash-consistent": as logs, polycsictl and docs show it.
inline const char* groupConsistencyName(GroupConsistency c) {
  switch (c) {
    case GroupConsistency::kPerVolumeSequence:
      return "per-volume-sequence";
    case GroupConsistency::kCrashConsistent:
      return "crash-consistent";
    case GroupConsistency::kNone:
      break;
  }
  return "none";
}

struct Descriptor {
  std::string name;
  std::string version;
  std::string description;
  std::string metricsPrefix;
  std::vector<Capability> capabilities;
  std::vector<SettingSpec> settings;
  std::vector<SettingSpec> parameters;
  // What nodeIdentity reports, as a user names it (e.g. "iSCSI initiator IQN"), when publish
  // cannot reach a node without it; empty when publish needs no node identity.
  std::string nodeIdentityKind;
  // ---- since ABI 1.3: group snapshots ----
  // What a group snapshot of this plugin's volumes guarantees; kNone: no group snapshots.
  // Anything else needs snapshots, and createSnapshot/listSnapshots must keep, report and
  // filter by groupSnapshotId (docs/plugin-sdk.md, "Group snapshots").
  GroupConsistency groupSnapshotConsistency = GroupConsistency::kNone;

  // The semantics of one (access mode, volume mode) pair; unsupported when absent.
  AttachSemantics semanticsFor(AccessMode access, VolumeMode volume) const {
    for (const auto& c : capabilities)
      if (c.accessMode == access && c.volumeMode == volume) return c.semantics;
    return AttachSemantics::kUnsupported;
  }
  // The author's reason for an unsupported pair, or a generic one.
  std::string unsupportedReason(AccessMode access, VolumeMode volume) const {
    for (const auto& c : capabilities)
      if (c.accessMode == access && c.volumeMode == volume && !c.reason.empty()) return c.reason;
    return std::string("plugin ") + name + " does not support " + accessModeName(access) +
           " with volume mode " + volumeModeName(volume);
  }
};

// Per-call context: a deadline and a cancellation flag, both set by the host.
// Copyable; a copy refers to the same flag. THREADING: isCancelled/checkpoint may be called
// from any thread while the call runs.
struct Call {
  std::chrono::milliseconds timeout{30000};
  // The host's cancellation flag (polycsi_call.cancelled), or null for "never cancelled". It
  // must point to a plain int32_t that is only ever written with atomic stores (e.g.
  // std::atomic_ref<int32_t>(flag).store(1)); it is read with atomic loads. Not owned.
  const volatile int32_t* cancelled = nullptr;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  std::chrono::steady_clock::time_point deadline() const { return start + timeout; }
  std::chrono::milliseconds remaining() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline() - std::chrono::steady_clock::now());
    return left.count() > 0 ? left : std::chrono::milliseconds(0);
  }
  // True once the host set the cancellation flag. An atomic (acquire) load: the host writes
  // the flag from another thread. The flag is a plain int32_t (see `cancelled`), so shedding
  // the qualifiers the ABI spells for source compatibility is well defined.
  bool isCancelled() const {
    if (cancelled == nullptr) return false;
    auto& flag = const_cast<int32_t&>(*cancelled);
    return std::atomic_ref<int32_t>(flag).load(std::memory_order_acquire) != 0;
  }
  // Throws DEADLINE_EXCEEDED or CANCELLED when the call should stop now. The deadline is
  // checked first: the host also sets the flag once the deadline passes, and a call that ran
  // out of time should say so.
  void checkpoint(const std::string& what) const {
    if (remaining().count() == 0) throw Error(Code::kDeadlineExceeded, what + ": timed out");
    if (isCancelled()) throw Error(Code::kCancelled, what + ": cancelled");
  }
};

struct Volume {
  std::string id;  // backend-local
  int64_t capacityBytes = 0;
  StringMap context;
  std::string sourceSnapshotId;
  std::string sourceVolumeId;
};

struct CreateVolumeRequest {
  Call call;
  std::string name;
  int64_t requiredBytes = 0;
  int64_t limitBytes = 0;
  VolumeMode volumeMode = VolumeMode::kFilesystem;
  StringMap parameters;
  StringMap secrets;
  std::string sourceId;  // snapshot (restore) or volume (clone), backend-local
};

// ---- since ABI 1.3: modify volume ----
// ControllerModifyVolume: mutable parameters to apply to an existing volume; only keys the
// descriptor marks mutable, checked against their kind, never empty.
struct ModifyVolumeRequest {
  Call call;
  std::string volumeId;  // backend-local
  StringMap mutableParameters;
  StringMap secrets;
};

// ---- since ABI 1.3: topology and capacity ----
// Looks up the volume `name` would create (polycsi_find_volume_request).
struct FindVolumeRequest {
  Call call;
  std::string name;
  StringMap parameters;
  StringMap secrets;
};

struct VolumeIdRequest {
  Call call;
  std::string volumeId;
  StringMap secrets;
};

struct ExpandRequest {
  Call call;
  std::string volumeId;
  int64_t requiredBytes = 0;
  int64_t limitBytes = 0;
  StringMap secrets;
};

struct ExpandResult {
  int64_t capacityBytes = 0;
  bool nodeExpansionRequired = false;
};

struct CapacityRequest {
  Call call;
  StringMap parameters;
};

struct Capacity {
  int64_t availableBytes = 0;
  int64_t maximumVolumeBytes = 0;
  int64_t minimumVolumeBytes = 0;
};

struct ListRequest {
  Call call;
  int32_t maxEntries = 0;
  std::string startingToken;
  std::string sourceVolumeId;
  std::string snapshotId;
  // ---- since ABI 1.3: group snapshots ----
  // listSnapshots only: only the members of this group; empty lists them all.
  std::string groupSnapshotId;
};

struct VolumePage {
  std::vector<Volume> volumes;
  std::string nextToken;
};

struct Snapshot {
  std::string id;
  std::string sourceVolumeId;
  int64_t sizeBytes = 0;
  int64_t creationTimeUnixNs = 0;
  bool readyToUse = true;
  // ---- since ABI 1.3: group snapshots ----
  // The group the snapshot is a member of (CreateSnapshotRequest::groupSnapshotId), or empty.
  std::string groupSnapshotId;
};

struct SnapshotPage {
  std::vector<Snapshot> snapshots;
  std::string nextToken;
};

struct CreateSnapshotRequest {
  Call call;
  std::string name;
  std::string sourceVolumeId;
  StringMap parameters;
  StringMap secrets;
  // ---- since ABI 1.3: group snapshots ----
  // The group this snapshot is a member of, or empty. A plugin with a group snapshot
  // consistency keeps it with the snapshot and reports it in Snapshot::groupSnapshotId.
  std::string groupSnapshotId;
};

struct SnapshotIdRequest {
  Call call;
  std::string snapshotId;
  StringMap secrets;
};

struct PublishRequest {
  Call call;
  std::string volumeId;
  std::string nodeName;
  std::string nodeIdentity;
  bool readonly = false;
  StringMap volumeContext;
  StringMap secrets;
};

struct AttachRequest {
  Call call;
  std::string volumeId;
  VolumeMode volumeMode = VolumeMode::kFilesystem;
  bool readonly = false;
  StringMap volumeContext;
  StringMap publishContext;
  StringMap secrets;
  std::string stagingPath;
};

// What attach made available: a block device, or a mount source for the core to mount.
struct Attachment {
  enum class Kind {
    kBlockDevice = POLYCSI_ATTACHMENT_BLOCK_DEVICE,
    kMountSource = POLYCSI_ATTACHMENT_MOUNT_SOURCE
  };
  Kind kind = Kind::kBlockDevice;
  std::string devicePath;
  std::string mountSource;
  std::string fsType;
  std::vector<std::string> mountOptions;

  static Attachment blockDevice(std::string path) {
    Attachment a;
    a.kind = Kind::kBlockDevice;
    a.devicePath = std::move(path);
    return a;
  }
  static Attachment mount(std::string source, std::string fsType,
                          std::vector<std::string> options) {
    Attachment a;
    a.kind = Kind::kMountSource;
    a.mountSource = std::move(source);
    a.fsType = std::move(fsType);
    a.mountOptions = std::move(options);
    return a;
  }
};

struct DetachRequest {
  Call call;
  std::string volumeId;
  std::string stagingPath;
};

struct NodeExpandRequest {
  Call call;
  std::string volumeId;
  int64_t requiredBytes = 0;
  std::string devicePath;
};

struct VolumeCondition {
  bool abnormal = false;
  std::string message;
};

// ---- since ABI 1.3: volume health ----

// A node the core has a volume published to: its Kubernetes node name and the identity this
// plugin's node side reported (host NQN, initiator IQN; empty when none or unknown).
struct PublishedNode {
  std::string nodeName;
  std::string nodeIdentity;

  bool operator==(const PublishedNode&) const = default;
};

// One volume whose controller-side condition is asked for.
struct ConditionQuery {
  std::string volumeId;  // backend-local
  std::vector<PublishedNode> publishedNodes;
};

// controllerVolumeConditions' request: one ListVolumes page, or the one volume of
// ControllerGetVolume. The answer has one VolumeCondition per entry, in this order.
struct ControllerConditionRequest {
  Call call;
  std::vector<ConditionQuery> volumes;
};

// ---- since ABI 1.4: crash-consistent group snapshots ----

// One member of createGroupSnapshot's group: the volume and the name of its snapshot.
struct GroupSnapshotMember {
  std::string name;            // the CSI-level snapshot name the core gives this member
  std::string sourceVolumeId;  // backend-local
};

// createGroupSnapshot's request: the whole group at once, members sorted by source volume. The
// answer has one Snapshot per member, in this order, each with groupSnapshotId set to this id.
struct CreateGroupSnapshotRequest {
  Call call;
  std::string groupSnapshotId;  // backend-local, as CreateSnapshotRequest::groupSnapshotId
  std::vector<GroupSnapshotMember> members;
  StringMap parameters;
  StringMap secrets;
};

// deleteGroupSnapshot's request: the group createGroupSnapshot made under this id.
struct GroupSnapshotIdRequest {
  Call call;
  std::string groupSnapshotId;  // backend-local
  StringMap secrets;
};

}  // namespace polycsi
