// Sanity checks of a plugin's self-description before the core relies on it.
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <utility>

#include "plugin_host/plugin_loader.hpp"
#include "polycsi/abi_convert.hpp"

namespace polycsi::plugin_host {
namespace {

// The integer stored in a C enum field. The bytes come from a plugin and may hold any value;
// loading them as the enum type would be undefined for values outside its range.
template <typename Enum>
int32_t rawValue(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int32_t), "ABI enums are int-sized");
  int32_t value;
  std::memcpy(&value, &field, sizeof(value));
  return value;
}

bool isLowerAlnumOrUnderscore(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool isValidPluginName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!isLowerAlnumOrUnderscore(c)) return false;
  return true;
}

bool isValidMetricsPrefix(const std::string& prefix) {
  if (prefix.empty() || (prefix.front() >= '0' && prefix.front() <= '9')) return false;
  for (char c : prefix)
    if (!isLowerAlnumOrUnderscore(c)) return false;
  return true;
}

std::string checkCapabilities(const polycsi_descriptor& d) {
  if (d.capability_count > 0 && d.capabilities == nullptr)
    return "descriptor lists " + std::to_string(d.capability_count) + " capabilities but no array";
  std::set<std::pair<int32_t, int32_t>> seen;
  for (size_t i = 0; i < d.capability_count; ++i) {
    const polycsi_capability& c = d.capabilities[i];
    const std::string where = "capability[" + std::to_string(i) + "]";
    const int32_t access = rawValue(c.access_mode);
    const int32_t volume = rawValue(c.volume_mode);
    const int32_t semantics = rawValue(c.semantics);
    if (access < POLYCSI_ACCESS_SINGLE_NODE_WRITER ||
        access > POLYCSI_ACCESS_SINGLE_NODE_MULTI_WRITER)
      return where + ": access mode " + std::to_string(access) + " is not one of 1..7";
    if (volume != POLYCSI_VOLUME_MODE_BLOCK && volume != POLYCSI_VOLUME_MODE_FILESYSTEM)
      return where + ": volume mode " + std::to_string(volume) +
             " is not 0 (block) or 1 (filesystem)";
    if (semantics < POLYCSI_ATTACH_UNSUPPORTED || semantics > POLYCSI_ATTACH_MIGRATION_WINDOW)
      return where + ": attach semantics " + std::to_string(semantics) + " is not one of 0..3";
    const std::string pair = std::string(accessModeName(static_cast<AccessMode>(access))) +
                             " with volume mode " + volumeModeName(static_cast<VolumeMode>(volume));
    if (!seen.emplace(access, volume).second) return where + ": " + pair + " is declared twice";
    if (semantics == POLYCSI_ATTACH_MIGRATION_WINDOW && volume != POLYCSI_VOLUME_MODE_BLOCK)
      return where + ": migration_window is only allowed for block volumes, not " + pair;
  }
  return {};
}

std::string checkSpecs(const polycsi_setting_spec* specs, size_t count, const char* what) {
  if (count > 0 && specs == nullptr)
    return std::string("descriptor lists ") + std::to_string(count) + " " + what + " but no array";
  std::set<std::string> names;
  for (size_t i = 0; i < count; ++i) {
    const std::string name = abi::toString(specs[i].name);
    const std::string where = std::string(what) + "[" + std::to_string(i) + "]";
    if (name.empty()) return where + ": name is empty";
    if (!names.insert(name).second) return where + ": '" + name + "' is declared twice";
    const int32_t kind = rawValue(specs[i].kind);
    if (kind < POLYCSI_SETTING_STRING || kind > POLYCSI_SETTING_STRUCTURED)
      return where + " '" + name + "': kind " + std::to_string(kind) + " is not one of 0..3";
  }
  return {};
}

// Since 1.2: each setting's required roles are a subset of CONTROLLER | NODE.
std::string checkRequiredRoles(const polycsi_descriptor& d, uint32_t abiMinor) {
  if (abiMinor < 2 || d.setting_required_roles == nullptr) return {};
  for (size_t i = 0; i < d.setting_count; ++i)
    if (d.setting_required_roles[i] > static_cast<uint32_t>(POLYCSI_ROLE_ALL))
      return "settings[" + std::to_string(i) + "] '" + abi::toString(d.settings[i].name) +
             "': required roles " + std::to_string(d.setting_required_roles[i]) +
             " are not a combination of 1 (controller) and 2 (node)";
  return {};
}

// Since 1.3: the group snapshot consistency is one of polycsi_group_consistency.
std::string checkGroupConsistency(const polycsi_descriptor& d, uint32_t abiMinor) {
  if (abiMinor < 3) return {};
  const int32_t value = rawValue(d.group_snapshot_consistency);
  if (value < POLYCSI_GROUP_CONSISTENCY_NONE || value > POLYCSI_GROUP_CONSISTENCY_CRASH_CONSISTENT)
    return "group snapshot consistency " + std::to_string(value) +
           " is not 0 (none), 1 (per volume in sequence) or 2 (crash-consistent)";
  return {};
}

}  // namespace

std::string checkDescriptor(const polycsi_descriptor& descriptor, const std::string& expectedName,
                            uint32_t abiMinor) {
  const std::string name = abi::toString(descriptor.name);
  if (!isValidPluginName(name)) return "descriptor name '" + name + "' must match [a-z0-9_]+";
  if (name != expectedName)
    return "descriptor name '" + name + "' does not match the file's plugin name '" + expectedName +
           "'";
  const std::string prefix = abi::toString(descriptor.metrics_prefix);
  if (!isValidMetricsPrefix(prefix))
    return "metrics prefix '" + prefix + "' must match [a-z_][a-z0-9_]*";
  if (auto problem = checkCapabilities(descriptor); !problem.empty()) return problem;
  if (auto problem = checkSpecs(descriptor.settings, descriptor.setting_count, "settings");
      !problem.empty())
    return problem;
  if (auto problem = checkRequiredRoles(descriptor, abiMinor); !problem.empty()) return problem;
  if (auto problem = checkGroupConsistency(descriptor, abiMinor); !problem.empty()) return problem;
  return checkSpecs(descriptor.parameters, descriptor.parameter_count, "parameters");
}

}  // namespace polycsi::plugin_host
