// Conversions between the C structs of plugin_abi.h and the C++ types of types.hpp, used on
// both sides of the boundary (plugin.hpp for plugins, plugin_client.hpp for hosts).
// Header-only. Not thread-safe per Arena; each call builds its own.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "polycsi/plugin_abi.h"
#include "polycsi/types.hpp"

namespace polycsi::abi {

inline std::string toString(polycsi_str s) {
  return (s.ptr == nullptr || s.len == 0) ? std::string() : std::string(s.ptr, s.len);
}

// A view of a std::string; valid while the string lives and is not modified.
inline polycsi_str view(const std::string& s) { return polycsi_str{s.data(), s.size()}; }
inline polycsi_str view(std::string_view s) { return polycsi_str{s.data(), s.size()}; }

inline StringMap toMap(polycsi_kv_list list) {
  StringMap out;
  for (size_t i = 0; i < list.count; ++i)
    out[toString(list.items[i].key)] = toString(list.items[i].value);
  return out;
}

inline std::vector<std::string> toStrings(polycsi_str_list list) {
  std::vector<std::string> out;
  out.reserve(list.count);
  for (size_t i = 0; i < list.count; ++i) out.push_back(toString(list.items[i]));
  return out;
}

// Owns the memory behind C views built from C++ values. Elements never move once added
// (deques of stable elements), so views stay valid as long as the arena lives.
class Arena {
 public:
  polycsi_str str(std::string value) {
    strings_.push_back(std::move(value));
    return view(strings_.back());
  }
  polycsi_kv_list kvs(const StringMap& map) {
    auto& items = kvArrays_.emplace_back();
    items.reserve(map.size());
    for (const auto& [k, v] : map) items.push_back(polycsi_kv{str(k), str(v)});
    return polycsi_kv_list{items.data(), items.size()};
  }
  polycsi_str_list strs(const std::vector<std::string>& values) {
    auto& items = strArrays_.emplace_back();
    items.reserve(values.size());
    for (const auto& v : values) items.push_back(str(v));
    return polycsi_str_list{items.data(), items.size()};
  }
  template <typename T>
  std::vector<T>& array() {
    auto holder = std::make_unique<Holder<std::vector<T>>>();
    auto& ref = holder->value;
    others_.push_back(std::move(holder));
    return ref;
  }

 private:
  struct HolderBase {
    virtual ~HolderBase() = default;
  };
  template <typename T>
  struct Holder : HolderBase {
    T value;
  };
  std::deque<std::string> strings_;
  std::deque<std::vector<polycsi_kv>> kvArrays_;
  std::deque<std::vector<polycsi_str>> strArrays_;
  std::vector<std::unique_ptr<HolderBase>> others_;
};

inline Call toCall(const polycsi_call& c) {
  Call call;
  call.timeout = std::chrono::milliseconds(c.timeout_ms > 0 ? c.timeout_ms : 1);
  call.cancelled = c.cancelled;
  return call;
}

inline polycsi_call fromCall(const Call& call) {
  auto ms = call.remaining().count();
  return polycsi_call{ms > 0 ? static_cast<int64_t>(ms) : 1, call.cancelled};
}

// ---- volumes and snapshots, both ways ----

inline polycsi_volume fromVolume(Arena& arena, const Volume& v) {
  return polycsi_volume{arena.str(v.id), v.capacityBytes, arena.kvs(v.context),
                        arena.str(v.sourceSnapshotId), arena.str(v.sourceVolumeId)};
}

inline Volume toVolume(const polycsi_volume& v) {
  return Volume{toString(v.id), v.capacity_bytes, toMap(v.context), toString(v.source_snapshot_id),
                toString(v.source_volume_id)};
}

inline polycsi_snapshot fromSnapshot(Arena& arena, const Snapshot& s) {
  return polycsi_snapshot{arena.str(s.id), arena.str(s.sourceVolumeId), s.sizeBytes,
                          s.creationTimeUnixNs, s.readyToUse ? 1 : 0};
}

inline Snapshot toSnapshot(const polycsi_snapshot& s) {
  // The group id is not a member of polycsi_snapshot (see polycsi_snapshot_list_result); the
  // caller fills it from where the result carries it.
  return Snapshot{toString(s.id),          toString(s.source_volume_id), s.size_bytes,
                  s.creation_time_unix_ns, s.ready_to_use != 0,          std::string()};
}

// ---- descriptor, both ways ----

// `abiMinor` is the minor the plugin was built with: members added later are left empty.
inline Descriptor toDescriptor(const polycsi_descriptor& d, uint32_t abiMinor) {
  Descriptor out;
  out.name = toString(d.name);
  out.version = toString(d.version);
  out.description = toString(d.description);
  out.metricsPrefix = toString(d.metrics_prefix);
  for (size_t i = 0; i < d.capability_count; ++i) {
    const auto& c = d.capabilities[i];
    out.capabilities.push_back(
        Capability{static_cast<AccessMode>(c.access_mode), static_cast<VolumeMode>(c.volume_mode),
                   static_cast<AttachSemantics>(c.semantics), toString(c.reason)});
  }
  auto specs = [](const polycsi_setting_spec* items, size_t count) {
    std::vector<SettingSpec> specs;
    for (size_t i = 0; i < count; ++i)
      specs.push_back(SettingSpec{toString(items[i].name), static_cast<SettingKind>(items[i].kind),
                                  items[i].required != 0, items[i].secret != 0,
                                  toString(items[i].description), std::nullopt});
    return specs;
  };
  out.settings = specs(d.settings, d.setting_count);
  out.parameters = specs(d.parameters, d.parameter_count);
  if (abiMinor >= 1) out.nodeIdentityKind = toString(d.node_identity_kind);
  if (abiMinor >= 2 && d.setting_required_roles != nullptr)
    for (size_t i = 0; i < d.setting_count; ++i)
      if (uint32_t roles = d.setting_required_roles[i]; roles != 0)
        out.settings[i].requiredIn = static_cast<Role>(roles);
  // since 1.3 (modify volume)
  if (abiMinor >= 3 && d.parameter_mutable != nullptr)
    for (size_t i = 0; i < d.parameter_count; ++i)
      out.parameters[i].isMutable = d.parameter_mutable[i] != 0;
  if (abiMinor >= 3) {
    // An unknown value is refused by the host's descriptor check; keep it as it is until then.
    out.groupSnapshotConsistency = static_cast<GroupConsistency>(d.group_snapshot_consistency);
  }
  return out;
}

// A C descriptor with the memory behind it; built once per plugin and kept for its lifetime.
struct DescriptorStorage {
  Arena arena;
  std::vector<polycsi_capability> capabilities;
  std::vector<polycsi_setting_spec> settings;
  std::vector<uint32_t> settingRequiredRoles;  // parallel to settings
  std::vector<polycsi_setting_spec> parameters;
  std::vector<int32_t> parameterMutable;  // parallel to parameters (since 1.3, modify volume)
  polycsi_descriptor descriptor{};
};

inline std::unique_ptr<DescriptorStorage> fromDescriptor(const Descriptor& d) {
  auto s = std::make_unique<DescriptorStorage>();
  for (const auto& c : d.capabilities)
    s->capabilities.push_back(polycsi_capability{static_cast<polycsi_access_mode>(c.accessMode),
                                                 static_cast<polycsi_volume_mode>(c.volumeMode),
                                                 static_cast<polycsi_attach_semantics>(c.semantics),
                                                 s->arena.str(c.reason)});
  auto specs = [&](const std::vector<SettingSpec>& in, std::vector<polycsi_setting_spec>& out) {
    for (const auto& p : in)
      out.push_back(
          polycsi_setting_spec{s->arena.str(p.name), static_cast<polycsi_setting_kind>(p.kind),
                               p.required ? 1 : 0, p.secret ? 1 : 0, s->arena.str(p.description)});
  };
  specs(d.settings, s->settings);
  for (const auto& p : d.settings)
    s->settingRequiredRoles.push_back(p.requiredIn ? static_cast<uint32_t>(*p.requiredIn) : 0);
  specs(d.parameters, s->parameters);
  for (const auto& p : d.parameters) s->parameterMutable.push_back(p.isMutable ? 1 : 0);
  s->descriptor = polycsi_descriptor{s->arena.str(d.name),
                                     s->arena.str(d.version),
                                     s->arena.str(d.description),
                                     s->arena.str(d.metricsPrefix),
                                     s->capabilities.data(),
                                     s->capabilities.size(),
                                     s->settings.data(),
                                     s->settings.size(),
                                     s->parameters.data(),
                                     s->parameters.size(),
                                     s->arena.str(d.nodeIdentityKind),
                                     s->settingRequiredRoles.data(),
                                     s->parameterMutable.data(),
                                     static_cast<int32_t>(d.groupSnapshotConsistency)};
  return s;
}

}  // namespace polycsi::abi
