// Host side of the plugin boundary: a typed C++ proxy over a plugin's C function table.
// Used by the polycsi core (core/plugin_host) and by the SDK's fake host for plugin unit tests.
// Header-only.
//
// THREADING: a PluginInstance may be called from several threads at once, as the ABI allows;
// the caller (the core) serializes calls per volume.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "polycsi/abi_convert.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/types.hpp"

namespace polycsi {

// The smallest function table a host accepts: one that reaches the end of the last REQUIRED
// member (`detach`). Members after it are optional, so a plugin built against a header that
// did not have them yet still loads; the host treats them as NULL (absent).
inline constexpr size_t kMinPluginTableSize =
    offsetof(polycsi_plugin_api, detach) + sizeof(polycsi_plugin_api::detach);

// The plugin's table widened to this host's polycsi_plugin_api: the members inside the
// plugin's struct_size are copied, every member beyond it is NULL. A host reads a plugin's table
// only through such a copy, so it never reads past the end of a table built against an older
// header. Expects a non-NULL table whose struct_size covers at least the version fields.
// Pure function; thread-safe; idempotent.
inline polycsi_plugin_api widenPluginTable(const polycsi_plugin_api* api) {
  constexpr size_t kFirstMember = offsetof(polycsi_plugin_api, describe);
  constexpr size_t kMemberSize = sizeof(polycsi_plugin_api::describe);
  polycsi_plugin_api full{};
  const size_t declared = std::min(api->struct_size, sizeof(polycsi_plugin_api));
  // Whole members only: a size ending inside a pointer must not yield half a pointer.
  const size_t members = declared > kFirstMember ? (declared - kFirstMember) / kMemberSize : 0;
  std::memcpy(&full, api, kFirstMember + members * kMemberSize);
  return full;
}

// Why a table's describe() returned NULL: its describe_error text (ABI 1.1) when it has one.
// `table` must be widened (widenPluginTable), so describe_error is NULL for older plugins.
inline std::string describeFailure(const polycsi_plugin_api& table) {
  std::string why = table.describe_error != nullptr ? abi::toString(table.describe_error()) : "";
  return why.empty() ? "describe() returned no descriptor" : "describe() failed: " + why;
}

// Why a table is unusable, or empty when it can be used. `origin` names the file in messages.
// Accepts a table shorter than this host's polycsi_plugin_api (a plugin built against an older
// minor) as long as it holds every REQUIRED member; see widenPluginTable.
inline std::string checkPluginTable(const polycsi_plugin_api* api, const std::string& origin) {
  if (api == nullptr) return origin + ": the entry point returned no function table";
  if (api->abi_major != POLYCSI_ABI_VERSION_MAJOR || api->abi_minor > POLYCSI_ABI_VERSION_MINOR)
    return origin + ": plugin ABI " + std::to_string(api->abi_major) + "." +
           std::to_string(api->abi_minor) + " is incompatible with host ABI " +
           std::to_string(POLYCSI_ABI_VERSION_MAJOR) + "." +
           std::to_string(POLYCSI_ABI_VERSION_MINOR) +
           " (the major must match and the minor must not be newer)";
  if (api->struct_size < kMinPluginTableSize)
    return origin + ": function table is truncated (" + std::to_string(api->struct_size) +
           " bytes; ABI " + std::to_string(POLYCSI_ABI_VERSION_MAJOR) + " needs at least " +
           std::to_string(kMinPluginTableSize) + " bytes, up to the last required member 'detach')";
  if ((api->struct_size - offsetof(polycsi_plugin_api, describe)) %
          sizeof(polycsi_plugin_api::describe) !=
      0)
    return origin + ": function table size " + std::to_string(api->struct_size) +
           " does not end on a member boundary";
  const polycsi_plugin_api table = widenPluginTable(api);
  struct Required {
    const void* fn;
    const char* name;
  };
  const Required required[] = {
      {reinterpret_cast<const void*>(table.describe), "describe"},
      {reinterpret_cast<const void*>(table.init), "init"},
      {reinterpret_cast<const void*>(table.shutdown), "shutdown"},
      {reinterpret_cast<const void*>(table.create_volume), "create_volume"},
      {reinterpret_cast<const void*>(table.delete_volume), "delete_volume"},
      {reinterpret_cast<const void*>(table.get_volume), "get_volume"},
      {reinterpret_cast<const void*>(table.node_identity), "node_identity"},
      {reinterpret_cast<const void*>(table.attach), "attach"},
      {reinterpret_cast<const void*>(table.detach), "detach"},
  };
  for (const auto& r : required)
    if (r.fn == nullptr) return origin + ": required function '" + r.name + "' is missing";
  if ((table.create_snapshot == nullptr) != (table.delete_snapshot == nullptr) ||
      (table.create_snapshot == nullptr) != (table.list_snapshots == nullptr))
    return origin + ": snapshot functions must be all present or all absent";
  if ((table.publish == nullptr) != (table.unpublish == nullptr))
    return origin + ": publish and unpublish must be both present or both absent";
  // ---- since ABI 1.4: crash-consistent group snapshots ----
  if ((table.create_group_snapshot == nullptr) != (table.delete_group_snapshot == nullptr))
    return origin +
           ": create_group_snapshot and delete_group_snapshot must be both present or "
           "both absent";
  if (table.create_group_snapshot != nullptr && table.create_snapshot == nullptr)
    return origin +
           ": create_group_snapshot needs the snapshot functions (the members are "
           "listed and restored as ordinary snapshots)";
  if (table.describe() == nullptr) return origin + ": " + describeFailure(table);
  return {};
}

// Which optional capabilities a plugin has: derived from non-NULL function pointers.
struct PluginFeatures {
  bool restoreSnapshot = false;
  bool cloneVolume = false;
  bool listVolumes = false;
  bool expandVolume = false;
  bool getCapacity = false;
  bool snapshots = false;
  bool fencing = false;
  bool nodeExpand = false;
  bool volumeCondition = false;
  bool modifyVolume = false;  // since 1.3 (modify volume)
  // ---- since ABI 1.3: topology and capacity ----
  bool findVolume = false;
  // ---- since ABI 1.3: volume health ----
  bool controllerVolumeCondition = false;
  // ---- since ABI 1.4: crash-consistent group snapshots ----
  bool groupSnapshotCall = false;  // create_group_snapshot and delete_group_snapshot

  // `plugin` may be a plugin's own table: members beyond its struct_size count as absent.
  static PluginFeatures of(const polycsi_plugin_api* plugin) {
    const polycsi_plugin_api widened = widenPluginTable(plugin);
    const polycsi_plugin_api* api = &widened;
    PluginFeatures f;
    f.restoreSnapshot = api->create_volume_from_snapshot != nullptr;
    f.cloneVolume = api->clone_volume != nullptr;
    f.listVolumes = api->list_volumes != nullptr;
    f.expandVolume = api->expand_volume != nullptr;
    f.getCapacity = api->get_capacity != nullptr;
    f.snapshots = api->create_snapshot != nullptr;
    f.fencing = api->publish != nullptr;
    f.nodeExpand = api->node_expand != nullptr;
    f.volumeCondition = api->volume_condition != nullptr;
    f.modifyVolume = api->modify_volume != nullptr;
    f.findVolume = api->find_volume != nullptr;
    f.controllerVolumeCondition = api->controller_volume_condition != nullptr;
    f.groupSnapshotCall = api->create_group_snapshot != nullptr;
    return f;
  }
};

// What init needs besides the host services.
struct InstanceConfig {
  std::string instanceName;
  Role role = Role::kAll;
  StringMap settings;
  std::string settingsJson = "{}";
  std::string stateDir;
  Call call;
};

// One live backend instance of a plugin. Destroying it calls the plugin's shutdown.
class PluginInstance {
 public:
  // Keeps a widened copy of the plugin's table (see widenPluginTable); takes ownership of
  // `instance`, which the plugin's init returned.
  PluginInstance(const polycsi_plugin_api* api, polycsi_instance* instance)
      : api_(widenPluginTable(api)), instance_(instance) {}
  ~PluginInstance() {
    if (instance_ != nullptr) api_.shutdown(instance_);
  }
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // Creates an instance through the plugin's init. `host` must outlive the instance.
  static StatusOr<std::unique_ptr<PluginInstance>> create(const polycsi_plugin_api* api,
                                                          const polycsi_host_api* host,
                                                          const InstanceConfig& config) {
    abi::Arena arena;
    const polycsi_init_request req = initRequest(arena, config);
    polycsi_init_result out{};
    polycsi_code code = widenPluginTable(api).init(host, &req, &out);
    Released release(out.header);
    if (code != POLYCSI_OK)
      return statusOf(code, out.header, "init of backend '" + config.instanceName + "'");
    if (out.instance == nullptr)
      return Status(Code::kInternal,
                    "init of backend '" + config.instanceName + "' returned no instance");
    return std::make_unique<PluginInstance>(api, out.instance);
  }

  // Checks config's settings through the plugin's check_settings (ABI 1.2) as its init would,
  // without creating an instance; OK when they pass or the plugin has no check_settings.
  // config.stateDir is not passed (the check must not touch state). Thread-safe; idempotent.
  static Status checkSettings(const polycsi_plugin_api* api, const InstanceConfig& config) {
    const polycsi_plugin_api table = widenPluginTable(api);
    if (table.check_settings == nullptr) return Status::ok();
    abi::Arena arena;
    polycsi_init_request req = initRequest(arena, config);
    req.state_dir = polycsi_str{nullptr, 0};
    polycsi_status_result out{};
    polycsi_code code = table.check_settings(&req, &out);
    Released release(out.header);
    if (code != POLYCSI_OK)
      return statusOf(code, out.header, "settings check of backend '" + config.instanceName + "'");
    return Status::ok();
  }

  PluginFeatures features() const { return PluginFeatures::of(&api_); }

  // ---- controller ----
  StatusOr<Volume> createVolume(const CreateVolumeRequest& r) const {
    return createWith(api_.create_volume, r);
  }
  StatusOr<Volume> createVolumeFromSnapshot(const CreateVolumeRequest& r) const {
    if (!api_.create_volume_from_snapshot) return unsupported("restoring a snapshot");
    return createWith(api_.create_volume_from_snapshot, r);
  }
  StatusOr<Volume> cloneVolume(const CreateVolumeRequest& r) const {
    if (!api_.clone_volume) return unsupported("cloning a volume");
    return createWith(api_.clone_volume, r);
  }
  Status deleteVolume(const VolumeIdRequest& r) const {
    abi::Arena arena;
    auto req = volumeIdRequest(arena, r);
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.delete_volume(instance_, &req, out); });
  }
  StatusOr<Volume> getVolume(const VolumeIdRequest& r) const {
    abi::Arena arena;
    auto req = volumeIdRequest(arena, r);
    return call<polycsi_volume_result, Volume>(
        [&](polycsi_volume_result* out) { return api_.get_volume(instance_, &req, out); },
        [](const polycsi_volume_result& out) { return abi::toVolume(out.volume); });
  }
  StatusOr<VolumePage> listVolumes(const ListRequest& r) const {
    if (!api_.list_volumes) return unsupported("listing volumes");
    abi::Arena arena;
    auto req = listRequest(arena, r);
    return call<polycsi_volume_list_result, VolumePage>(
        [&](polycsi_volume_list_result* out) { return api_.list_volumes(instance_, &req, out); },
        [](const polycsi_volume_list_result& out) {
          VolumePage page;
          for (size_t i = 0; i < out.count; ++i)
            page.volumes.push_back(abi::toVolume(out.volumes[i]));
          page.nextToken = abi::toString(out.next_token);
          return page;
        });
  }
  StatusOr<ExpandResult> expandVolume(const ExpandRequest& r) const {
    if (!api_.expand_volume) return unsupported("expanding a volume");
    abi::Arena arena;
    polycsi_expand_request req{abi::fromCall(r.call), arena.str(r.volumeId), r.requiredBytes,
                               r.limitBytes, arena.kvs(r.secrets)};
    return call<polycsi_expand_result, ExpandResult>(
        [&](polycsi_expand_result* out) { return api_.expand_volume(instance_, &req, out); },
        [](const polycsi_expand_result& out) {
          return ExpandResult{out.capacity_bytes, out.node_expansion_required != 0};
        });
  }
  // since 1.3 (modify volume): applies mutable parameters to a live volume.
  Status modifyVolume(const ModifyVolumeRequest& r) const {
    if (!api_.modify_volume) return unsupported("modifying a volume").status();
    abi::Arena arena;
    polycsi_modify_volume_request req{abi::fromCall(r.call), arena.str(r.volumeId),
                                      arena.kvs(r.mutableParameters), arena.kvs(r.secrets)};
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.modify_volume(instance_, &req, out); });
  }
  StatusOr<Capacity> getCapacity(const CapacityRequest& r) const {
    if (!api_.get_capacity) return unsupported("reporting capacity");
    abi::Arena arena;
    polycsi_capacity_request req{abi::fromCall(r.call), arena.kvs(r.parameters)};
    return call<polycsi_capacity_result, Capacity>(
        [&](polycsi_capacity_result* out) { return api_.get_capacity(instance_, &req, out); },
        [](const polycsi_capacity_result& out) {
          return Capacity{out.available_bytes, out.maximum_volume_bytes, out.minimum_volume_bytes};
        });
  }
  StatusOr<Snapshot> createSnapshot(const CreateSnapshotRequest& r) const {
    if (!api_.create_snapshot) return unsupported("snapshots");
    abi::Arena arena;
    polycsi_create_snapshot_request req{abi::fromCall(r.call),       arena.str(r.name),
                                        arena.str(r.sourceVolumeId), arena.kvs(r.parameters),
                                        arena.kvs(r.secrets),        arena.str(r.groupSnapshotId)};
    return call<polycsi_snapshot_result, Snapshot>(
        [&](polycsi_snapshot_result* out) { return api_.create_snapshot(instance_, &req, out); },
        [](const polycsi_snapshot_result& out) {
          Snapshot s = abi::toSnapshot(out.snapshot);
          s.groupSnapshotId = abi::toString(out.group_snapshot_id);  // zeroed: empty before 1.3
          return s;
        });
  }
  Status deleteSnapshot(const SnapshotIdRequest& r) const {
    if (!api_.delete_snapshot) return unsupported("snapshots").status();
    abi::Arena arena;
    polycsi_snapshot_id_request req{abi::fromCall(r.call), arena.str(r.snapshotId),
                                    arena.kvs(r.secrets)};
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.delete_snapshot(instance_, &req, out); });
  }
  StatusOr<SnapshotPage> listSnapshots(const ListRequest& r) const {
    if (!api_.list_snapshots) return unsupported("snapshots");
    abi::Arena arena;
    auto req = listRequest(arena, r);
    return call<polycsi_snapshot_list_result, SnapshotPage>(
        [&](polycsi_snapshot_list_result* out) {
          return api_.list_snapshots(instance_, &req, out);
        },
        [](const polycsi_snapshot_list_result& out) {
          SnapshotPage page;
          for (size_t i = 0; i < out.count; ++i) {
            page.snapshots.push_back(abi::toSnapshot(out.snapshots[i]));
            // The host zeroes the result: a plugin before 1.3 leaves the array NULL.
            if (out.group_snapshot_ids != nullptr)
              page.snapshots.back().groupSnapshotId = abi::toString(out.group_snapshot_ids[i]);
          }
          page.nextToken = abi::toString(out.next_token);
          return page;
        });
  }
  // Storage-level fencing. Without fencing support these succeed with nothing to do.
  StatusOr<StringMap> publish(const PublishRequest& r) const {
    if (!api_.publish) return StringMap{};
    abi::Arena arena;
    auto req = publishRequest(arena, r);
    return call<polycsi_publish_result, StringMap>(
        [&](polycsi_publish_result* out) { return api_.publish(instance_, &req, out); },
        [](const polycsi_publish_result& out) { return abi::toMap(out.publish_context); });
  }
  Status unpublish(const PublishRequest& r) const {
    if (!api_.unpublish) return Status::ok();
    abi::Arena arena;
    auto req = publishRequest(arena, r);
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.unpublish(instance_, &req, out); });
  }

  // ---- since ABI 1.3: topology and capacity ----
  // The volume named r.name; NOT_FOUND when there is none (or UNIMPLEMENTED without
  // find_volume).
  StatusOr<Volume> findVolume(const FindVolumeRequest& r) const {
    if (!api_.find_volume) return unsupported("finding a volume by name");
    abi::Arena arena;
    polycsi_find_volume_request req{abi::fromCall(r.call), arena.str(r.name),
                                    arena.kvs(r.parameters), arena.kvs(r.secrets)};
    return call<polycsi_volume_result, Volume>(
        [&](polycsi_volume_result* out) { return api_.find_volume(instance_, &req, out); },
        [](const polycsi_volume_result& out) { return abi::toVolume(out.volume); });
  }

  // ---- node ----
  StatusOr<std::string> nodeIdentity(const Call& c) const {
    polycsi_call req = abi::fromCall(c);
    return call<polycsi_node_identity_result, std::string>(
        [&](polycsi_node_identity_result* out) { return api_.node_identity(instance_, &req, out); },
        [](const polycsi_node_identity_result& out) { return abi::toString(out.identity); });
  }
  StatusOr<Attachment> attach(const AttachRequest& r) const {
    abi::Arena arena;
    polycsi_attach_request req{abi::fromCall(r.call),
                               arena.str(r.volumeId),
                               static_cast<polycsi_volume_mode>(r.volumeMode),
                               r.readonly ? 1 : 0,
                               arena.kvs(r.volumeContext),
                               arena.kvs(r.publishContext),
                               arena.kvs(r.secrets),
                               arena.str(r.stagingPath)};
    return call<polycsi_attach_result, Attachment>(
        [&](polycsi_attach_result* out) { return api_.attach(instance_, &req, out); },
        [](const polycsi_attach_result& out) {
          Attachment a;
          a.kind = static_cast<Attachment::Kind>(out.kind);
          a.devicePath = abi::toString(out.device_path);
          a.mountSource = abi::toString(out.mount_source);
          a.fsType = abi::toString(out.fs_type);
          a.mountOptions = abi::toStrings(out.mount_options);
          return a;
        });
  }
  Status detach(const DetachRequest& r) const {
    abi::Arena arena;
    auto req = detachRequest(arena, r);
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.detach(instance_, &req, out); });
  }
  Status nodeExpand(const NodeExpandRequest& r) const {
    if (!api_.node_expand) return Status::ok();  // nothing to do on the node's device
    abi::Arena arena;
    polycsi_node_expand_request req{abi::fromCall(r.call), arena.str(r.volumeId), r.requiredBytes,
                                    arena.str(r.devicePath)};
    return statusCall<polycsi_status_result>(
        [&](polycsi_status_result* out) { return api_.node_expand(instance_, &req, out); });
  }
  // Health of an attached volume; healthy when the plugin cannot tell.
  StatusOr<VolumeCondition> volumeCondition(const DetachRequest& r) const {
    if (!api_.volume_condition) return VolumeCondition{};
    abi::Arena arena;
    auto req = detachRequest(arena, r);
    return call<polycsi_condition_result, VolumeCondition>(
        [&](polycsi_condition_result* out) { return api_.volume_condition(instance_, &req, out); },
        [](const polycsi_condition_result& out) {
          return VolumeCondition{out.abnormal != 0, abi::toString(out.header.message)};
        });
  }

  // ---- since ABI 1.3: volume health ----
  // The controller-side condition of each volume in `r`, one per volume in order; UNIMPLEMENTED
  // when the plugin cannot tell (callers check features().controllerVolumeCondition first).
  // INTERNAL when the plugin answers another number of conditions than it was asked for.
  StatusOr<std::vector<VolumeCondition>> controllerVolumeConditions(
      const ControllerConditionRequest& r) const {
    if (!api_.controller_volume_condition) return unsupported("volume conditions");
    abi::Arena arena;
    std::vector<polycsi_condition_query> queries;
    queries.reserve(r.volumes.size());
    for (const auto& v : r.volumes) {
      auto& nodes = arena.array<polycsi_published_node>();
      for (const auto& n : v.publishedNodes)
        nodes.push_back(polycsi_published_node{arena.str(n.nodeName), arena.str(n.nodeIdentity)});
      queries.push_back(polycsi_condition_query{arena.str(v.volumeId), nodes.data(), nodes.size()});
    }
    polycsi_controller_condition_request req{abi::fromCall(r.call), queries.data(), queries.size()};
    const size_t asked = r.volumes.size();
    auto answered = call<polycsi_controller_condition_result, std::vector<VolumeCondition>>(
        [&](polycsi_controller_condition_result* out) {
          return api_.controller_volume_condition(instance_, &req, out);
        },
        [&](const polycsi_controller_condition_result& out) {
          std::vector<VolumeCondition> conditions;
          // A plugin that answers more than it was asked must not make the host read past them.
          for (size_t i = 0; i < std::min(out.count, asked); ++i)
            conditions.push_back(VolumeCondition{out.conditions[i].abnormal != 0,
                                                 abi::toString(out.conditions[i].message)});
          if (out.count != asked) conditions.clear();
          return conditions;
        });
    if (!answered.isOk()) return answered.status();
    if (answered->size() != asked)
      return Status(Code::kInternal, "the plugin answered a volume condition request for " +
                                         std::to_string(asked) +
                                         " volumes with another number of conditions");
    return answered;
  }

  // ---- since ABI 1.4: crash-consistent group snapshots ----
  // One snapshot per member of `r`, in member order, each of its member's volume and tagged
  // with r.groupSnapshotId; UNIMPLEMENTED without the call (callers check
  // features().groupSnapshotCall). INTERNAL when the plugin answers another count, volume or tag.
  StatusOr<std::vector<Snapshot>> createGroupSnapshot(const CreateGroupSnapshotRequest& r) const {
    if (!api_.create_group_snapshot) return unsupported("group snapshots in one call");
    abi::Arena arena;
    auto& members = arena.array<polycsi_group_snapshot_member>();
    for (const auto& m : r.members)
      members.push_back(
          polycsi_group_snapshot_member{arena.str(m.name), arena.str(m.sourceVolumeId)});
    polycsi_create_group_snapshot_request req{abi::fromCall(r.call),   arena.str(r.groupSnapshotId),
                                              members.data(),          members.size(),
                                              arena.kvs(r.parameters), arena.kvs(r.secrets)};
    const size_t asked = r.members.size();
    auto answered = call<polycsi_snapshot_list_result, std::vector<Snapshot>>(
        [&](polycsi_snapshot_list_result* out) {
          return api_.create_group_snapshot(instance_, &req, out);
        },
        [&](const polycsi_snapshot_list_result& out) {
          std::vector<Snapshot> snapshots;
          // Never read past what was asked for, nor group ids the plugin did not give.
          for (size_t i = 0; i < std::min(out.count, asked); ++i) {
            snapshots.push_back(abi::toSnapshot(out.snapshots[i]));
            if (out.group_snapshot_ids != nullptr)
              snapshots.back().groupSnapshotId = abi::toString(out.group_snapshot_ids[i]);
          }
          if (out.count != asked) snapshots.clear();
          return snapshots;
        });
    if (!answered.isOk()) return answered.status();
    if (answered->size() != asked)
      return Status(Code::kInternal, "the plugin answered a group snapshot of " +
                                         std::to_string(asked) +
                                         " members with another number of snapshots");
    for (size_t i = 0; i < asked; ++i)
      if ((*answered)[i].groupSnapshotId != r.groupSnapshotId ||
          (*answered)[i].sourceVolumeId != r.members[i].sourceVolumeId)
        return Status(Code::kInternal, "the plugin answered snapshot " + (*answered)[i].id +
                                           " of volume " + (*answered)[i].sourceVolumeId +
                                           " in group '" + (*answered)[i].groupSnapshotId +
                                           "' for member " + std::to_string(i + 1) + " (volume " +
                                           r.members[i].sourceVolumeId + ", group '" +
                                           r.groupSnapshotId + "')");
    return answered;
  }
  // Deletes the group createGroupSnapshot made; OK when it is gone already.
  Status deleteGroupSnapshot(const GroupSnapshotIdRequest& r) const {
    if (!api_.delete_group_snapshot) return unsupported("group snapshots in one call").status();
    abi::Arena arena;
    polycsi_group_snapshot_id_request req{abi::fromCall(r.call), arena.str(r.groupSnapshotId),
                                          arena.kvs(r.secrets)};
    return statusCall<polycsi_status_result>([&](polycsi_status_result* out) {
      return api_.delete_group_snapshot(instance_, &req, out);
    });
  }

 private:
  // init's request for `config`; its strings live in `arena`.
  static polycsi_init_request initRequest(abi::Arena& arena, const InstanceConfig& config) {
    return polycsi_init_request{abi::fromCall(config.call),
                                arena.str(config.instanceName),
                                static_cast<polycsi_role>(config.role),
                                arena.kvs(config.settings),
                                arena.str(config.settingsJson),
                                arena.str(config.stateDir)};
  }

  // Releases a result's plugin memory when it goes out of scope.
  struct Released {
    explicit Released(polycsi_result_header& h) : header(h) {}
    ~Released() {
      if (header.release != nullptr) header.release(header.owner);
    }
    polycsi_result_header& header;
  };

  static Status statusOf(polycsi_code code, const polycsi_result_header& h,
                         const std::string& what) {
    std::string message = abi::toString(h.message);
    if (message.empty()) message = what + " failed with " + codeName(static_cast<Code>(code));
    auto c = static_cast<Code>(code);
    if (code < POLYCSI_OK || code > POLYCSI_UNAVAILABLE || c == Code::kOk) c = Code::kInternal;
    return Status(c, message);
  }

  template <typename CResult, typename T, typename Invoke, typename Convert>
  StatusOr<T> call(Invoke&& invoke, Convert&& convert) const {
    CResult out{};
    polycsi_code code = invoke(&out);
    Released release(out.header);
    if (code != POLYCSI_OK) return statusOf(code, out.header, "plugin call");
    return convert(out);
  }

  template <typename CResult, typename Invoke>
  Status statusCall(Invoke&& invoke) const {
    CResult out{};
    polycsi_code code = invoke(&out);
    Released release(out.header);
    if (code != POLYCSI_OK) return statusOf(code, out.header, "plugin call");
    return Status::ok();
  }

  template <typename Fn>
  StatusOr<Volume> createWith(Fn fn, const CreateVolumeRequest& r) const {
    abi::Arena arena;
    polycsi_create_volume_request req{abi::fromCall(r.call),
                                      arena.str(r.name),
                                      r.requiredBytes,
                                      r.limitBytes,
                                      static_cast<polycsi_volume_mode>(r.volumeMode),
                                      arena.kvs(r.parameters),
                                      arena.kvs(r.secrets),
                                      arena.str(r.sourceId)};
    return call<polycsi_volume_result, Volume>(
        [&](polycsi_volume_result* out) { return fn(instance_, &req, out); },
        [](const polycsi_volume_result& out) { return abi::toVolume(out.volume); });
  }

  static polycsi_volume_id_request volumeIdRequest(abi::Arena& arena, const VolumeIdRequest& r) {
    return polycsi_volume_id_request{abi::fromCall(r.call), arena.str(r.volumeId),
                                     arena.kvs(r.secrets)};
  }
  static polycsi_list_request listRequest(abi::Arena& arena, const ListRequest& r) {
    return polycsi_list_request{abi::fromCall(r.call),      r.maxEntries,
                                arena.str(r.startingToken), arena.str(r.sourceVolumeId),
                                arena.str(r.snapshotId),    arena.str(r.groupSnapshotId)};
  }
  static polycsi_publish_request publishRequest(abi::Arena& arena, const PublishRequest& r) {
    return polycsi_publish_request{abi::fromCall(r.call), arena.str(r.volumeId),
                                   arena.str(r.nodeName), arena.str(r.nodeIdentity),
                                   r.readonly ? 1 : 0,    arena.kvs(r.volumeContext),
                                   arena.kvs(r.secrets)};
  }
  static polycsi_detach_request detachRequest(abi::Arena& arena, const DetachRequest& r) {
    return polycsi_detach_request{abi::fromCall(r.call), arena.str(r.volumeId),
                                  arena.str(r.stagingPath)};
  }
  struct Unsupported {
    Status s;
    template <typename T>
    operator StatusOr<T>() const {  // NOLINT: converts to any StatusOr
      return s;
    }
    Status status() const { return s; }
  };
  static Unsupported unsupported(const char* what) {
    return Unsupported{
        Status(Code::kUnimplemented, std::string("this backend does not support ") + what)};
  }

  const polycsi_plugin_api api_;  // widened: members the plugin lacks are NULL
  polycsi_instance* instance_;
};

}  // namespace polycsi
