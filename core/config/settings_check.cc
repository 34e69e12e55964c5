// Checks a backend's settings against the setting specs its plugin declares.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/driver_config.hpp"

namespace polycsi::config {
namespace {

const BackendConfig& backendAt(const DriverConfig& config, size_t index) {
  if (index >= config.backends.size())
    throw std::out_of_range("backend index " + std::to_string(index) + " is out of range (" +
                            std::to_string(config.backends.size()) + " backends)");
  return config.backends[index];
}

const SettingSpec* specFor(const Descriptor& descriptor, const std::string& key) {
  for (const auto& spec : descriptor.settings)
    if (spec.name == key) return &spec;
  return nullptr;
}

bool isStructured(const BackendConfig& backend, const std::string& key) {
  for (const auto& k : backend.structuredKeys)
    if (k == key) return true;
  return false;
}

bool isWellFormedInteger(const std::string& text) {
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);
  if (digits.empty() || digits.front() == '+') return false;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && end == digits.data() + digits.size();
}

std::string knownSettings(const Descriptor& descriptor) {
  if (descriptor.settings.empty()) return "plugin " + descriptor.name + " takes no settings";
  std::string names;
  for (const auto& spec : descriptor.settings) {
    if (!names.empty()) names += ", ";
    names += spec.name;
  }
  return "plugin " + descriptor.name + " knows: " + names;
}

// The problem with one present key, or empty when it is fine.
std::string problemWith(const BackendConfig& backend, const std::string& key,
                        const Descriptor& descriptor) {
  const SettingSpec* spec = specFor(descriptor, key);
  if (spec == nullptr) return "unknown setting (" + knownSettings(descriptor) + ")";
  const bool structured = isStructured(backend, key);
  if (spec->kind == SettingKind::kStructured) return structured ? "" : "must be a list or map";
  if (structured) return "must be a single value, not a list or map";
  const std::string& value = backend.settings.at(key);
  // A secret's value is never quoted: validation output goes to logs and terminals.
  const std::string got = spec->secret ? std::string() : ", got '" + value + "'";
  if (spec->kind == SettingKind::kInteger && !isWellFormedInteger(value))
    return "must be an integer" + got;
  if (spec->kind == SettingKind::kBoolean && value != "true" && value != "false")
    return "must be true or false" + got;
  return {};
}

// Why an absent key is a problem: required everywhere, or by one role.
std::string missing(const SettingSpec& spec) {
  if (spec.required || !spec.requiredIn) return "required";
  return std::string("required for the ") + roleName(*spec.requiredIn);
}

// Every scalar leaf of a JSON value, as text.
void collectLeaves(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_object() || value.is_array()) {
    for (const auto& item : value) collectLeaves(item, out);
  } else if (value.is_string()) {
    if (!value.get<std::string>().empty()) out.push_back(value.get<std::string>());
  } else if (!value.is_null()) {
    out.push_back(value.dump());
  }
}

}  // namespace

std::vector<std::string> checkBackendSettings(const DriverConfig& config, size_t index,
                                              const Descriptor& descriptor, Role role) {
  const BackendConfig& backend = backendAt(config, index);
  const std::string prefix = "backends[" + std::to_string(index) + "].settings.";
  std::vector<std::string> problems;
  for (const auto& spec : descriptor.settings) {
    if (spec.requiredFor(role) && backend.settings.count(spec.name) == 0 &&
        !isStructured(backend, spec.name))
      problems.push_back(prefix + spec.name + ": " + missing(spec));
  }
  // Present keys in name order: scalar ones come sorted from the map, structured ones merged in.
  std::vector<std::string> present;
  for (const auto& [key, value] : backend.settings) present.push_back(key);
  present.insert(present.end(), backend.structuredKeys.begin(), backend.structuredKeys.end());
  std::sort(present.begin(), present.end());
  for (const auto& key : present) {
    std::string problem = problemWith(backend, key, descriptor);
    if (!problem.empty()) problems.push_back(prefix + key + ": " + problem);
  }
  return problems;
}

std::vector<std::string> secretValues(const DriverConfig& config, size_t index,
                                      const Descriptor& descriptor) {
  const BackendConfig& backend = backendAt(config, index);
  std::vector<std::string> values;
  nlohmann::json structured;
  for (const auto& spec : descriptor.settings) {
    if (!spec.secret) continue;
    if (auto it = backend.settings.find(spec.name); it != backend.settings.end()) {
      if (!it->second.empty()) values.push_back(it->second);
    } else if (isStructured(backend, spec.name)) {
      // A secret list or map (e.g. several passwords): every leaf is secret.
      if (structured.is_null()) structured = nlohmann::json::parse(backend.settingsJson);
      if (structured.contains(spec.name)) collectLeaves(structured[spec.name], values);
    }
  }
  return values;
}

}  // namespace polycsi::config
