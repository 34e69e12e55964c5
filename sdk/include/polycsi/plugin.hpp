// Header-only C++ SDK for writing a polycsi plugin.
//
// An author writes a class derived from polycsi::Backend and one line:
//
//   class MyBackend : public polycsi::Backend {
//    public:
//     static polycsi::Descriptor describe();                       // required
//     explicit MyBackend(const polycsi::InitContext& ctx);         // required
//     polycsi::Volume createVolume(const polycsi::CreateVolumeRequest&) override;
//     ...                                                          // the other pure virtuals
//
//     // Optional capabilities are an explicit opt-in (see polycsi::Capabilities):
//     static constexpr polycsi::Capabilities kCapabilities{.listVolumes = true,
//                                                          .snapshots = true};
//     polycsi::VolumePage listVolumes(const polycsi::ListRequest&);
//     polycsi::Snapshot createSnapshot(const polycsi::CreateSnapshotRequest&);
//     void deleteSnapshot(const polycsi::SnapshotIdRequest&);
//     polycsi::SnapshotPage listSnapshots(const polycsi::ListRequest&);
//   };
//   POLYCSI_PLUGIN(MyBackend)
//
// A backend whose constructor checks its settings should also declare
//     static void checkSettings(const polycsi::InitContext& ctx);   // optional
// that runs the same checks and throws the same polycsi::Error, without connecting anywhere:
// the host calls it (check_settings) for `polycsi validate-config` and before any init, so a
// configuration mistake is reported the same way before anything starts. ctx.stateDir is empty
// there and ctx.host logs nowhere.
//
// The macro emits the one exported C symbol. A function pointer in the table is non-NULL
// exactly when kCapabilities declares the capability, so the core advertises only what works.
// The build fails, naming the member, when a declared capability's member is missing or has
// another signature, and when a capability's member exists but the capability is not declared
// (a misspelt name or a forgotten opt-in can therefore not silently drop a capability).
// Any exception thrown by the backend becomes an error status at the boundary: polycsi::Error
// keeps its code, std::bad_alloc becomes RESOURCE_EXHAUSTED, anything else INTERNAL. An
// exception from describe() makes describe return NULL, and its text becomes describe_error.
//
// THREADING: members are called concurrently for different volumes; never twice at once for
// the same volume. Constructor and destructor are never concurrent with other calls.
#pragma once

#include <concepts>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>

#include "polycsi/abi_convert.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/types.hpp"

namespace polycsi {

// The host's services, as seen by the plugin. Copyable; valid until the backend is destroyed.
class Host {
 public:
  Host() = default;
  explicit Host(const polycsi_host_api* api) : api_(api) {}

  void log(polycsi_log_level level, const std::string& message) const {
    if (api_ && api_->log) api_->log(api_->host_ctx, level, abi::view(message));
  }
  void debug(const std::string& m) const { log(POLYCSI_LOG_DEBUG, m); }
  void info(const std::string& m) const { log(POLYCSI_LOG_INFO, m); }
  void warn(const std::string& m) const { log(POLYCSI_LOG_WARN, m); }
  void error(const std::string& m) const { log(POLYCSI_LOG_ERROR, m); }

  // Sets gauge <prefix>_<name>{labels} = value.
  void gaugeSet(const std::string& name, const StringMap& labels, double value) const {
    if (!api_ || !api_->gauge_set) return;
    abi::Arena arena;
    api_->gauge_set(api_->host_ctx, abi::view(name), arena.kvs(labels), value);
  }
  // Adds delta to counter <prefix>_<name>{labels}.
  void counterAdd(const std::string& name, const StringMap& labels, double delta) const {
    if (!api_ || !api_->counter_add) return;
    abi::Arena arena;
    api_->counter_add(api_->host_ctx, abi::view(name), arena.kvs(labels), delta);
  }

 private:
  const polycsi_host_api* api_ = nullptr;
};

// Everything a backend constructor receives.
struct InitContext {
  Call call;
  std::string instanceName;
  Role role = Role::kAll;
  StringMap settings;        // scalar settings, validated against the descriptor
  std::string settingsJson;  // the whole settings map as JSON (for structured settings)
  std::string stateDir;      // a private directory for the instance's files
  Host host;

  // The setting's value, or `fallback` when absent.
  std::string get(const std::string& key, const std::string& fallback = "") const {
    auto it = settings.find(key);
    return it == settings.end() ? fallback : it->second;
  }
};

// The optional capabilities a backend opts in to, each with the member(s) it must then define.
// A backend declares them as a public static constexpr member named kCapabilities:
//   static constexpr polycsi::Capabilities kCapabilities{.clone = true, .expand = true};
// A backend without kCapabilities has none. POLYCSI_PLUGIN checks at compile time that every
// declared capability's members exist, are public and have these signatures (a const member or
// one with extra defaulted parameters is fine), and that no member of an undeclared capability
// exists. The member names are therefore reserved for these capabilities.
// Literal type; no state.
struct Capabilities {
  bool createFromSnapshot = false;  // Volume createVolumeFromSnapshot(const CreateVolumeRequest&)
  bool clone = false;               // Volume cloneVolume(const CreateVolumeRequest&)
  bool listVolumes = false;         // VolumePage listVolumes(const ListRequest&)
  bool expand = false;              // ExpandResult expandVolume(const ExpandRequest&)
  bool capacity = false;            // Capacity getCapacity(const CapacityRequest&)
  // All three: Snapshot createSnapshot(const CreateSnapshotRequest&),
  // void deleteSnapshot(const SnapshotIdRequest&), SnapshotPage listSnapshots(const ListRequest&)
  bool snapshots = false;
  // Both: StringMap publish(const PublishRequest&), void unpublish(const PublishRequest&)
  bool fencing = false;
  bool nodeExpand = false;       // void nodeExpand(const NodeExpandRequest&)
  bool volumeCondition = false;  // VolumeCondition volumeCondition(const DetachRequest&)
  // ---- since ABI 1.3: modify volume ----
  // void modifyVolume(const ModifyVolumeRequest&): applies parameters the descriptor marks
  // mutable (SettingSpec::isMutable) to a live volume.
  bool modifyVolume = false;
  // ---- since ABI 1.3: topology and capacity ----
  // Volume findVolume(const FindVolumeRequest&): the volume createVolume made for the name;
  // throws Error(kNotFound) when none. Needed for StorageClasses that span several backends.
  bool findVolume = false;

  // ---- since ABI 1.3: volume health ----
  // std::vector<VolumeCondition> controllerVolumeConditions(const ControllerConditionRequest&):
  // one condition per requested volume, in order (the SDK refuses another count as INTERNAL).
  bool controllerVolumeCondition = false;

  // ---- since ABI 1.4: crash-consistent group snapshots ----
  // Both, with snapshots: std::vector<Snapshot> createGroupSnapshot(const
  // CreateGroupSnapshotRequest&) (one snapshot per member, in order, each tagged with the group;
  // the SDK refuses another count or tag as INTERNAL) and void deleteGroupSnapshot(const
  // GroupSnapshotIdRequest&). The core uses them when the descriptor declares
  // GroupConsistency::kCrashConsistent (docs/plugin-sdk.md, "Group snapshots").
  bool groupSnapshots = false;
};

// Base class of every backend. The pure virtuals are the required part of the contract.
class Backend {
 public:
  virtual ~Backend() = default;

  // Creates an empty volume named req.name, or returns the existing one; throws
  // Error(kAlreadyExists) when the existing one is incompatible.
  virtual Volume createVolume(const CreateVolumeRequest& req) = 0;
  // Deletes a volume; returns normally when it is already gone.
  virtual void deleteVolume(const VolumeIdRequest& req) = 0;
  // Looks a volume up; throws Error(kNotFound) when it does not exist.
  virtual Volume getVolume(const VolumeIdRequest& req) = 0;
  // This host's identity for the storage system (e.g. NVMe host NQN); may be empty.
  virtual std::string nodeIdentity(const Call& call) = 0;
  // Makes the volume available on this node; attached already is success.
  virtual Attachment attach(const AttachRequest& req) = 0;
  // Undoes attach; detached already is success.
  virtual void detach(const DetachRequest& req) = 0;
};

namespace sdk_detail {

// ---- result plumbing ----

// Owns everything behind one C result; freed when the host calls release().
struct ResultOwner {
  abi::Arena arena;
};

inline void releaseOwner(void* owner) { delete static_cast<ResultOwner*>(owner); }

// The owner of out's memory, created on first use.
template <typename CResult>
ResultOwner* own(CResult* out) {
  if (out->header.owner != nullptr) return static_cast<ResultOwner*>(out->header.owner);
  auto* owner = new ResultOwner();
  out->header.owner = owner;
  out->header.release = &releaseOwner;
  return owner;
}

// Sets out's error message, falling back to a static text when memory is short.
template <typename CResult>
void setMessage(CResult* out, const std::string& message) noexcept {
  try {
    out->header.message = own(out)->arena.str(message);
  } catch (...) {
    static const char kMsg[] = "plugin error (message lost: out of memory)";
    out->header.message = polycsi_str{kMsg, sizeof(kMsg) - 1};
  }
}

// Runs `body`, turning exceptions into a code and message in out->header.
template <typename CResult, typename Body>
polycsi_code guarded(CResult* out, Body&& body) noexcept {
  *out = CResult{};
  try {
    body();
    return POLYCSI_OK;
  } catch (const Error& e) {
    setMessage(out, e.what());
    return e.code() == Code::kOk ? POLYCSI_INTERNAL : static_cast<polycsi_code>(e.code());
  } catch (const std::bad_alloc&) {
    setMessage(out, "plugin ran out of memory");
    return POLYCSI_RESOURCE_EXHAUSTED;
  } catch (const std::exception& e) {
    setMessage(out, std::string("plugin error: ") + e.what());
    return POLYCSI_INTERNAL;
  } catch (...) {
    setMessage(out, "plugin threw an unknown exception");
    return POLYCSI_INTERNAL;
  }
}

// ---- request conversion ----

inline CreateVolumeRequest toCreate(const polycsi_create_volume_request* r) {
  return CreateVolumeRequest{abi::toCall(r->call),
                             abi::toString(r->name),
                             r->required_bytes,
                             r->limit_bytes,
                             static_cast<VolumeMode>(r->volume_mode),
                             abi::toMap(r->parameters),
                             abi::toMap(r->secrets),
                             abi::toString(r->source_id)};
}

inline VolumeIdRequest toVolumeId(const polycsi_volume_id_request* r) {
  return VolumeIdRequest{abi::toCall(r->call), abi::toString(r->volume_id), abi::toMap(r->secrets)};
}

inline ListRequest toList(const polycsi_list_request* r) {
  return ListRequest{abi::toCall(r->call),
                     r->max_entries,
                     abi::toString(r->starting_token),
                     abi::toString(r->source_volume_id),
                     abi::toString(r->snapshot_id),
                     abi::toString(r->group_snapshot_id)};
}

inline PublishRequest toPublish(const polycsi_publish_request* r) {
  return PublishRequest{abi::toCall(r->call),
                        abi::toString(r->volume_id),
                        abi::toString(r->node_name),
                        abi::toString(r->node_identity),
                        r->readonly != 0,
                        abi::toMap(r->volume_context),
                        abi::toMap(r->secrets)};
}

inline DetachRequest toDetach(const polycsi_detach_request* r) {
  return DetachRequest{abi::toCall(r->call), abi::toString(r->volume_id),
                       abi::toString(r->staging_path)};
}

// ---- optional capabilities: what the backend declares, checked against what it defines ----

// B::kCapabilities, or none when B does not declare it.
template <typename B>
consteval Capabilities declaredCapabilities() {
  if constexpr (requires { B::kCapabilities; }) {
    static_assert(std::is_same_v<std::remove_cvref_t<decltype(B::kCapabilities)>, Capabilities>,
                  "polycsi: kCapabilities must be a `static constexpr polycsi::Capabilities`");
    return B::kCapabilities;
  } else {
    return Capabilities{};
  }
}

// For each optional member: a declared capability needs the member with its signature, and an
// undeclared one must not have a member of that name (the misspelt or forgotten opt-in).
// Static asserts need literal messages, hence one macro expansion per member.
// Each expansion also yields `has_<member>`: declared and well-formed, so that table() installs
// only members that compile and a broken plugin gets the one readable error, not a cascade.
// clang-format off
#define POLYCSI_SDK_CHECK_OPTIONAL(capability, Result, member, Request)                          \
  static constexpr bool has_##member = kCaps.capability && requires(B& b, const Request& r) {   \
    { b.member(r) } -> std::same_as<Result>;                                                    \
  };                                                                                            \
  static_assert(!kCaps.capability || has_##member,                                              \
                "polycsi: kCapabilities." #capability " is declared, so the backend needs a "   \
                "public member `" #Result " " #member "(const " #Request "&)`; it is missing, " \
                "misspelt, not public or has another signature");                               \
  static_assert(kCaps.capability || !requires { &B::member; },                                  \
                "polycsi: the backend defines " #member " but kCapabilities does not declare "   \
                "." #capability " = true; declare it to offer the capability, or rename the "    \
                "member")
// clang-format on

template <typename B>
struct CapabilityCheck {
  static constexpr Capabilities kCaps = declaredCapabilities<B>();
  POLYCSI_SDK_CHECK_OPTIONAL(createFromSnapshot, Volume, createVolumeFromSnapshot,
                             CreateVolumeRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(clone, Volume, cloneVolume, CreateVolumeRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(listVolumes, VolumePage, listVolumes, ListRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(expand, ExpandResult, expandVolume, ExpandRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(capacity, Capacity, getCapacity, CapacityRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(snapshots, Snapshot, createSnapshot, CreateSnapshotRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(snapshots, void, deleteSnapshot, SnapshotIdRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(snapshots, SnapshotPage, listSnapshots, ListRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(fencing, StringMap, publish, PublishRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(fencing, void, unpublish, PublishRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(nodeExpand, void, nodeExpand, NodeExpandRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(volumeCondition, VolumeCondition, volumeCondition, DetachRequest);
  // ---- since ABI 1.3: modify volume ----
  POLYCSI_SDK_CHECK_OPTIONAL(modifyVolume, void, modifyVolume, ModifyVolumeRequest);
  // ---- since ABI 1.3: topology and capacity ----
  POLYCSI_SDK_CHECK_OPTIONAL(findVolume, Volume, findVolume, FindVolumeRequest);
  // ---- since ABI 1.3: volume health ----
  POLYCSI_SDK_CHECK_OPTIONAL(controllerVolumeCondition, std::vector<VolumeCondition>,
                             controllerVolumeConditions, ControllerConditionRequest);
  // ---- since ABI 1.4: crash-consistent group snapshots ----
  POLYCSI_SDK_CHECK_OPTIONAL(groupSnapshots, std::vector<Snapshot>, createGroupSnapshot,
                             CreateGroupSnapshotRequest);
  POLYCSI_SDK_CHECK_OPTIONAL(groupSnapshots, void, deleteGroupSnapshot, GroupSnapshotIdRequest);
  static_assert(!kCaps.groupSnapshots || kCaps.snapshots,
                "polycsi: kCapabilities.groupSnapshots needs .snapshots = true: the members of a "
                "group are ordinary snapshots, listed and deleted through the snapshot calls");
};

#undef POLYCSI_SDK_CHECK_OPTIONAL

// ---- describe() failures ----

// Why describe() last failed, for describe_error. The first failure's text is kept and never
// changes afterwards, so a view of it stays valid while the library is loaded.
// THREADING: guarded by its mutex.
class DescribeFailure {
 public:
  void record(const char* text) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_) return;
    failed_ = true;
    try {
      text_ = *text != '\0' ? text : "describe() threw an exception without a message";
    } catch (...) {
      text_.clear();  // reported as the static text below
    }
  }
  polycsi_str text() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    if (!failed_) return polycsi_str{nullptr, 0};
    if (text_.empty()) {
      static const char kLost[] = "describe() failed (message lost: out of memory)";
      return polycsi_str{kLost, sizeof(kLost) - 1};
    }
    return polycsi_str{text_.data(), text_.size()};
  }

 private:
  mutable std::mutex mu_;
  bool failed_ = false;
  std::string text_;
};

// ---- the table for one backend type ----

template <typename B>
struct Exports {
  static_assert(std::is_base_of_v<Backend, B>, "POLYCSI_PLUGIN needs a polycsi::Backend");
  static_assert(std::is_constructible_v<B, const InitContext&>,
                "a backend needs a constructor taking const polycsi::InitContext&");
  using Check = CapabilityCheck<B>;  // instantiating it runs the capability checks

  static B* self(polycsi_instance* i) { return reinterpret_cast<B*>(i); }

  static DescribeFailure& describeFailure() {
    static DescribeFailure failure;
    return failure;
  }

  // B::describe() runs here, inside the plugin: an exception it throws must not cross the C
  // boundary, so it becomes NULL plus describe_error's text.
  static const polycsi_descriptor* describe() noexcept {
    try {
      // Built once, kept for the life of the library; a throwing build is retried next time.
      static const std::unique_ptr<abi::DescriptorStorage> storage =
          abi::fromDescriptor(B::describe());
      return &storage->descriptor;
    } catch (const std::exception& e) {
      describeFailure().record(e.what());
    } catch (...) {
      describeFailure().record("describe() threw an exception that is not a std::exception");
    }
    return nullptr;
  }

  static polycsi_str describeError() noexcept { return describeFailure().text(); }

  static InitContext contextOf(const polycsi_host_api* host, const polycsi_init_request* r) {
    return InitContext{abi::toCall(r->call),
                       abi::toString(r->instance_name),
                       static_cast<Role>(r->role),
                       abi::toMap(r->settings),
                       abi::toString(r->settings_json),
                       abi::toString(r->state_dir),
                       Host(host)};
  }

  static polycsi_code checkSettings(const polycsi_init_request* r, polycsi_status_result* out) {
    return guarded(out, [&] { B::checkSettings(contextOf(nullptr, r)); });
  }

  static polycsi_code init(const polycsi_host_api* host, const polycsi_init_request* r,
                           polycsi_init_result* out) {
    return guarded(out, [&] {
      out->instance = reinterpret_cast<polycsi_instance*>(new B(contextOf(host, r)));
    });
  }

  static void shutdown(polycsi_instance* i) noexcept {
    try {
      delete self(i);
    } catch (...) {
      // A destructor that throws cannot be reported; the instance is gone either way.
    }
  }

  static polycsi_code createVolume(polycsi_instance* i, const polycsi_create_volume_request* r,
                                   polycsi_volume_result* out) {
    return guarded(out, [&] {
      Volume v = self(i)->createVolume(toCreate(r));
      out->volume = abi::fromVolume(own(out)->arena, v);
    });
  }

  // The optional entry points below are instantiated only when table() installs them, i.e.
  // when kCapabilities declares the capability and CapabilityCheck found the member.
  static polycsi_code createFromSnapshot(polycsi_instance* i,
                                         const polycsi_create_volume_request* r,
                                         polycsi_volume_result* out) {
    return guarded(out, [&] {
      Volume v = self(i)->createVolumeFromSnapshot(toCreate(r));
      out->volume = abi::fromVolume(own(out)->arena, v);
    });
  }
  static polycsi_code cloneVolume(polycsi_instance* i, const polycsi_create_volume_request* r,
                                  polycsi_volume_result* out) {
    return guarded(out, [&] {
      Volume v = self(i)->cloneVolume(toCreate(r));
      out->volume = abi::fromVolume(own(out)->arena, v);
    });
  }
  static polycsi_code deleteVolume(polycsi_instance* i, const polycsi_volume_id_request* r,
                                   polycsi_status_result* out) {
    return guarded(out, [&] { self(i)->deleteVolume(toVolumeId(r)); });
  }
  static polycsi_code getVolume(polycsi_instance* i, const polycsi_volume_id_request* r,
                                polycsi_volume_result* out) {
    return guarded(out, [&] {
      Volume v = self(i)->getVolume(toVolumeId(r));
      out->volume = abi::fromVolume(own(out)->arena, v);
    });
  }
  static polycsi_code listVolumes(polycsi_instance* i, const polycsi_list_request* r,
                                  polycsi_volume_list_result* out) {
    return guarded(out, [&] {
      VolumePage page = self(i)->listVolumes(toList(r));
      auto& arena = own(out)->arena;
      auto& items = arena.template array<polycsi_volume>();
      for (const auto& v : page.volumes) items.push_back(abi::fromVolume(arena, v));
      out->volumes = items.data();
      out->count = items.size();
      out->next_token = arena.str(page.nextToken);
    });
  }
  static polycsi_code expandVolume(polycsi_instance* i, const polycsi_expand_request* r,
                                   polycsi_expand_result* out) {
    return guarded(out, [&] {
      ExpandResult e = self(i)->expandVolume(
          ExpandRequest{abi::toCall(r->call), abi::toString(r->volume_id), r->required_bytes,
                        r->limit_bytes, abi::toMap(r->secrets)});
      out->capacity_bytes = e.capacityBytes;
      out->node_expansion_required = e.nodeExpansionRequired ? 1 : 0;
    });
  }
  static polycsi_code getCapacity(polycsi_instance* i, const polycsi_capacity_request* r,
                                  polycsi_capacity_result* out) {
    return guarded(out, [&] {
      Capacity c =
          self(i)->getCapacity(CapacityRequest{abi::toCall(r->call), abi::toMap(r->parameters)});
      out->available_bytes = c.availableBytes;
      out->maximum_volume_bytes = c.maximumVolumeBytes;
      out->minimum_volume_bytes = c.minimumVolumeBytes;
    });
  }
  static polycsi_code createSnapshot(polycsi_instance* i, const polycsi_create_snapshot_request* r,
                                     polycsi_snapshot_result* out) {
    return guarded(out, [&] {
      Snapshot s = self(i)->createSnapshot(CreateSnapshotRequest{
          abi::toCall(r->call), abi::toString(r->name), abi::toString(r->source_volume_id),
          abi::toMap(r->parameters), abi::toMap(r->secrets), abi::toString(r->group_snapshot_id)});
      out->snapshot = abi::fromSnapshot(own(out)->arena, s);
      out->group_snapshot_id = own(out)->arena.str(s.groupSnapshotId);
    });
  }
  static polycsi_code deleteSnapshot(polycsi_instance* i, const polycsi_snapshot_id_request* r,
                                     polycsi_status_result* out) {
    return guarded(out, [&] {
      self(i)->deleteSnapshot(SnapshotIdRequest{abi::toCall(r->call), abi::toString(r->snapshot_id),
                                                abi::toMap(r->secrets)});
    });
  }
  static polycsi_code listSnapshots(polycsi_instance* i, const polycsi_list_request* r,
                                    polycsi_snapshot_list_result* out) {
    return guarded(out, [&] {
      SnapshotPage page = self(i)->listSnapshots(toList(r));
      auto& arena = own(out)->arena;
      auto& items = arena.template array<polycsi_snapshot>();
      auto& groups = arena.template array<polycsi_str>();
      for (const auto& s : page.snapshots) {
        items.push_back(abi::fromSnapshot(arena, s));
        groups.push_back(arena.str(s.groupSnapshotId));
      }
      out->snapshots = items.data();
      out->count = items.size();
      out->next_token = arena.str(page.nextToken);
      out->group_snapshot_ids = groups.data();
    });
  }
  static polycsi_code publish(polycsi_instance* i, const polycsi_publish_request* r,
                              polycsi_publish_result* out) {
    return guarded(out, [&] {
      StringMap ctx = self(i)->publish(toPublish(r));
      out->publish_context = own(out)->arena.kvs(ctx);
    });
  }
  static polycsi_code unpublish(polycsi_instance* i, const polycsi_publish_request* r,
                                polycsi_status_result* out) {
    return guarded(out, [&] { self(i)->unpublish(toPublish(r)); });
  }
  static polycsi_code nodeIdentity(polycsi_instance* i, const polycsi_call* c,
                                   polycsi_node_identity_result* out) {
    return guarded(out, [&] {
      std::string id = self(i)->nodeIdentity(abi::toCall(*c));
      out->identity = own(out)->arena.str(id);
    });
  }
  static polycsi_code attach(polycsi_instance* i, const polycsi_attach_request* r,
                             polycsi_attach_result* out) {
    return guarded(out, [&] {
      Attachment a = self(i)->attach(AttachRequest{
          abi::toCall(r->call), abi::toString(r->volume_id),
          static_cast<VolumeMode>(r->volume_mode), r->readonly != 0, abi::toMap(r->volume_context),
          abi::toMap(r->publish_context), abi::toMap(r->secrets), abi::toString(r->staging_path)});
      auto& arena = own(out)->arena;
      out->kind = static_cast<polycsi_attachment_kind>(a.kind);
      out->device_path = arena.str(a.devicePath);
      out->mount_source = arena.str(a.mountSource);
      out->fs_type = arena.str(a.fsType);
      out->mount_options = arena.strs(a.mountOptions);
    });
  }
  static polycsi_code detach(polycsi_instance* i, const polycsi_detach_request* r,
                             polycsi_status_result* out) {
    return guarded(out, [&] { self(i)->detach(toDetach(r)); });
  }
  static polycsi_code nodeExpand(polycsi_instance* i, const polycsi_node_expand_request* r,
                                 polycsi_status_result* out) {
    return guarded(out, [&] {
      self(i)->nodeExpand(NodeExpandRequest{abi::toCall(r->call), abi::toString(r->volume_id),
                                            r->required_bytes, abi::toString(r->device_path)});
    });
  }
  static polycsi_code volumeCondition(polycsi_instance* i, const polycsi_detach_request* r,
                                      polycsi_condition_result* out) {
    return guarded(out, [&] {
      VolumeCondition c = self(i)->volumeCondition(toDetach(r));
      out->abnormal = c.abnormal ? 1 : 0;
      out->header.message = own(out)->arena.str(c.message);
    });
  }

  // ---- since ABI 1.3: modify volume ----
  static polycsi_code modifyVolume(polycsi_instance* i, const polycsi_modify_volume_request* r,
                                   polycsi_status_result* out) {
    return guarded(out, [&] {
      self(i)->modifyVolume(ModifyVolumeRequest{abi::toCall(r->call), abi::toString(r->volume_id),
                                                abi::toMap(r->mutable_parameters),
                                                abi::toMap(r->secrets)});
    });
  }

  // ---- since ABI 1.3: topology and capacity ----
  static polycsi_code findVolume(polycsi_instance* i, const polycsi_find_volume_request* r,
                                 polycsi_volume_result* out) {
    return guarded(out, [&] {
      Volume v =
          self(i)->findVolume(FindVolumeRequest{abi::toCall(r->call), abi::toString(r->name),
                                                abi::toMap(r->parameters), abi::toMap(r->secrets)});
      out->volume = abi::fromVolume(own(out)->arena, v);
    });
  }

  // ---- since ABI 1.3: volume health ----
  static polycsi_code controllerVolumeConditions(polycsi_instance* i,
                                                 const polycsi_controller_condition_request* r,
                                                 polycsi_controller_condition_result* out) {
    return guarded(out, [&] {
      ControllerConditionRequest req{abi::toCall(r->call), {}};
      req.volumes.reserve(r->count);
      for (size_t v = 0; v < r->count; ++v) {
        const polycsi_condition_query& q = r->volumes[v];
        ConditionQuery query{abi::toString(q.volume_id), {}};
        for (size_t n = 0; n < q.published_node_count; ++n)
          query.publishedNodes.push_back(
              PublishedNode{abi::toString(q.published_nodes[n].node_name),
                            abi::toString(q.published_nodes[n].node_identity)});
        req.volumes.push_back(std::move(query));
      }
      std::vector<VolumeCondition> conditions = self(i)->controllerVolumeConditions(req);
      // The host pairs answers with volumes by position: another count is a plugin bug.
      if (conditions.size() != r->count)
        throw Error(Code::kInternal, "controllerVolumeConditions answered " +
                                         std::to_string(conditions.size()) + " conditions for " +
                                         std::to_string(r->count) + " volumes");
      auto& arena = own(out)->arena;
      auto& items = arena.template array<polycsi_volume_condition>();
      for (const auto& c : conditions)
        items.push_back(polycsi_volume_condition{c.abnormal ? 1 : 0, arena.str(c.message)});
      out->conditions = items.data();
      out->count = items.size();
    });
  }

  // ---- since ABI 1.4: crash-consistent group snapshots ----
  static polycsi_code createGroupSnapshot(polycsi_instance* i,
                                          const polycsi_create_group_snapshot_request* r,
                                          polycsi_snapshot_list_result* out) {
    return guarded(out, [&] {
      CreateGroupSnapshotRequest req{abi::toCall(r->call),
                                     abi::toString(r->group_snapshot_id),
                                     {},
                                     abi::toMap(r->parameters),
                                     abi::toMap(r->secrets)};
      req.members.reserve(r->member_count);
      for (size_t m = 0; m < r->member_count; ++m)
        req.members.push_back(GroupSnapshotMember{abi::toString(r->members[m].name),
                                                  abi::toString(r->members[m].source_volume_id)});
      std::vector<Snapshot> snapshots = self(i)->createGroupSnapshot(req);
      // The host pairs snapshots with members by position and trusts the tag: a plugin bug here
      // would file a snapshot under the wrong volume or group.
      if (snapshots.size() != req.members.size())
        throw Error(Code::kInternal, "createGroupSnapshot answered " +
                                         std::to_string(snapshots.size()) + " snapshots for " +
                                         std::to_string(req.members.size()) + " members");
      for (size_t m = 0; m < snapshots.size(); ++m)
        if (snapshots[m].groupSnapshotId != req.groupSnapshotId ||
            snapshots[m].sourceVolumeId != req.members[m].sourceVolumeId)
          throw Error(Code::kInternal, "createGroupSnapshot answered snapshot " + snapshots[m].id +
                                           " of volume " + snapshots[m].sourceVolumeId +
                                           " in group '" + snapshots[m].groupSnapshotId +
                                           "' for member " + std::to_string(m + 1) + " (volume " +
                                           req.members[m].sourceVolumeId + ", group '" +
                                           req.groupSnapshotId + "')");
      auto& arena = own(out)->arena;
      auto& items = arena.template array<polycsi_snapshot>();
      auto& groups = arena.template array<polycsi_str>();
      for (const auto& s : snapshots) {
        items.push_back(abi::fromSnapshot(arena, s));
        groups.push_back(arena.str(s.groupSnapshotId));
      }
      out->snapshots = items.data();
      out->count = items.size();
      out->group_snapshot_ids = groups.data();
    });
  }
  static polycsi_code deleteGroupSnapshot(polycsi_instance* i,
                                          const polycsi_group_snapshot_id_request* r,
                                          polycsi_status_result* out) {
    return guarded(out, [&] {
      self(i)->deleteGroupSnapshot(GroupSnapshotIdRequest{
          abi::toCall(r->call), abi::toString(r->group_snapshot_id), abi::toMap(r->secrets)});
    });
  }

  static const polycsi_plugin_api* table() {
    static const polycsi_plugin_api api = [] {
      polycsi_plugin_api t{};
      t.struct_size = sizeof(polycsi_plugin_api);
      t.abi_major = POLYCSI_ABI_VERSION_MAJOR;
      t.abi_minor = POLYCSI_ABI_VERSION_MINOR;
      t.describe = &describe;
      t.describe_error = &describeError;
      t.init = &init;
      t.shutdown = &shutdown;
      t.create_volume = &createVolume;
      t.delete_volume = &deleteVolume;
      t.get_volume = &getVolume;
      t.node_identity = &nodeIdentity;
      t.attach = &attach;
      t.detach = &detach;
      if constexpr (Check::has_createVolumeFromSnapshot)
        t.create_volume_from_snapshot = &createFromSnapshot;
      if constexpr (Check::has_cloneVolume) t.clone_volume = &cloneVolume;
      if constexpr (Check::has_listVolumes) t.list_volumes = &listVolumes;
      if constexpr (Check::has_expandVolume) t.expand_volume = &expandVolume;
      if constexpr (Check::has_getCapacity) t.get_capacity = &getCapacity;
      if constexpr (Check::has_createSnapshot && Check::has_deleteSnapshot &&
                    Check::has_listSnapshots) {
        t.create_snapshot = &createSnapshot;
        t.delete_snapshot = &deleteSnapshot;
        t.list_snapshots = &listSnapshots;
      }
      if constexpr (Check::has_publish && Check::has_unpublish) {
        t.publish = &publish;
        t.unpublish = &unpublish;
      }
      if constexpr (Check::has_nodeExpand) t.node_expand = &nodeExpand;
      if constexpr (Check::has_volumeCondition) t.volume_condition = &volumeCondition;
      if constexpr (requires(const InitContext& ctx) {
                      { B::checkSettings(ctx) } -> std::same_as<void>;
                    })
        t.check_settings = &checkSettings;
      // ---- since ABI 1.3: modify volume ----
      if constexpr (Check::has_modifyVolume) t.modify_volume = &modifyVolume;
      // ---- since ABI 1.3: topology and capacity ----
      if constexpr (Check::has_findVolume) t.find_volume = &findVolume;
      // ---- since ABI 1.3: volume health ----
      if constexpr (Check::has_controllerVolumeConditions)
        t.controller_volume_condition = &controllerVolumeConditions;
      // ---- since ABI 1.4: crash-consistent group snapshots ----
      if constexpr (Check::has_createGroupSnapshot && Check::has_deleteGroupSnapshot) {
        t.create_group_snapshot = &createGroupSnapshot;
        t.delete_group_snapshot = &deleteGroupSnapshot;
      }
      return t;
    }();
    return &api;
  }
};

}  // namespace sdk_detail
}  // namespace polycsi

#if defined(_WIN32)
#define POLYCSI_EXPORT __declspec(dllexport)
#else
#define POLYCSI_EXPORT __attribute__((visibility("default")))
#endif

// Emits the plugin's one exported symbol for backend class `BackendClass`.
#define POLYCSI_PLUGIN(BackendClass)                                               \
  extern "C" POLYCSI_EXPORT const polycsi_plugin_api* polycsi_plugin_entry(void) { \
    return ::polycsi::sdk_detail::Exports<BackendClass>::table();                  \
  }
