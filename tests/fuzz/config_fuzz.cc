// Fuzz target: the driver configuration loader (core/config).
//
// The input is a configuration file. Invariants:
//   - parseConfig either returns a configuration or INVALID_ARGUMENT, and never throws;
//   - a returned configuration obeys the rules parseConfig promises (names, absolute paths,
//     unique backends, at most one default) and its settingsJson is a JSON object holding
//     exactly the scalar and structured settings;
//   - written out again as YAML, it parses to the same configuration (it re-validates);
//   - checking its settings against a descriptor and collecting its secrets never throws, and
//     every non-empty secret scalar is collected.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "config/driver_config.hpp"
#include "fuzz_check.hpp"
#include "volume/volume_id.hpp"

namespace {

using polycsi::Descriptor;
using polycsi::SettingKind;
using polycsi::SettingSpec;
using polycsi::config::BackendConfig;
using polycsi::config::DriverConfig;
using polycsi::config::parseConfig;
using polycsi::fuzz::visible;

// Settings of every kind, so that the checks walk each branch.
Descriptor fuzzDescriptor() {
  Descriptor d;
  d.name = "fuzz";
  d.settings = {
      SettingSpec{"address", SettingKind::kString, true, false, ""},
      SettingSpec{"port", SettingKind::kInteger, false, false, ""},
      SettingSpec{"insecure", SettingKind::kBoolean, false, false, ""},
      SettingSpec{"password", SettingKind::kString, false, true, ""},
      SettingSpec{"arrays", SettingKind::kStructured, false, true, ""},
  };
  return d;
}

bool isAbsolute(const std::string& path) { return !path.empty() && path.front() == '/'; }

std::set<std::string> sorted(const std::vector<std::string>& items) {
  return {items.begin(), items.end()};
}

void emitJson(YAML::Emitter& out, const nlohmann::json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [key, item] : value.items()) {
      out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      emitJson(out, item);
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& item : value) emitJson(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_null()) {
    out << YAML::Null;
  } else {
    out << value.dump();  // booleans and numbers: JSON's text reads the same as a YAML plain scalar
  }
}

// The configuration as YAML: scalar settings as they were written (plain when they read as
// something other than text, quoted otherwise), structured ones from their JSON.
std::string write(const DriverConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "driver_name" << YAML::Value << YAML::DoubleQuoted << config.driverName;
  if (!config.pluginDir.empty())
    out << YAML::Key << "plugin_dir" << YAML::Value << YAML::DoubleQuoted << config.pluginDir;
  out << YAML::Key << "state_path" << YAML::Value << YAML::DoubleQuoted << config.statePath;
  out << YAML::Key << "backends" << YAML::Value << YAML::BeginSeq;
  for (const BackendConfig& backend : config.backends) {
    const nlohmann::json settings = nlohmann::json::parse(backend.settingsJson);
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << backend.name;
    out << YAML::Key << "plugin" << YAML::Value << YAML::DoubleQuoted << backend.plugin;
    out << YAML::Key << "default" << YAML::Value << (backend.isDefault ? "true" : "false");
    out << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, text] : backend.settings) {
      out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      if (settings.at(key).is_string())
        out << YAML::DoubleQuoted << text;
      else
        out << text;
    }
    for (const auto& key : backend.structuredKeys) {
      out << YAML::Key << YAML::DoubleQuoted << key << YAML::Value;
      emitJson(out, settings.at(key));
    }
    out << YAML::EndMap << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  POLYCSI_FUZZ_CHECK(out.good(), std::string("yaml-cpp cannot write it: ") + out.GetLastError());
  return out.c_str();
}

std::string describe(const DriverConfig& config) {
  std::string out = "driver_name='" + visible(config.driverName) + "' plugin_dir='" +
                    visible(config.pluginDir) + "' state_path='" + visible(config.statePath) + "'";
  for (const auto& b : config.backends) {
    out += "\n  " + visible(b.name) + " plugin=" + visible(b.plugin) +
           (b.isDefault ? " default" : "") + " json=" + visible(b.settingsJson);
    for (const auto& [key, value] : b.settings)
      out += " " + visible(key) + "='" + visible(value) + "'";
  }
  return out;
}

bool same(const DriverConfig& a, const DriverConfig& b) {
  if (a.driverName != b.driverName || a.pluginDir != b.pluginDir || a.statePath != b.statePath ||
      a.backends.size() != b.backends.size())
    return false;
  for (size_t i = 0; i < a.backends.size(); ++i) {
    const BackendConfig& x = a.backends[i];
    const BackendConfig& y = b.backends[i];
    if (x.name != y.name || x.plugin != y.plugin || x.isDefault != y.isDefault ||
        x.settings != y.settings || sorted(x.structuredKeys) != sorted(y.structuredKeys) ||
        nlohmann::json::parse(x.settingsJson) != nlohmann::json::parse(y.settingsJson))
      return false;
  }
  return true;
}

void checkRules(const DriverConfig& config) {
  const std::string what = describe(config);
  POLYCSI_FUZZ_CHECK(!config.driverName.empty() && config.driverName.size() <= 63, what);
  POLYCSI_FUZZ_CHECK(config.pluginDir.empty() || isAbsolute(config.pluginDir), what);
  POLYCSI_FUZZ_CHECK(isAbsolute(config.statePath), what);
  POLYCSI_FUZZ_CHECK(!config.backends.empty(), what);
  std::set<std::string> names;
  int defaults = 0;
  for (const BackendConfig& b : config.backends) {
    POLYCSI_FUZZ_CHECK(polycsi::volume::isValidBackendName(b.name), what);
    POLYCSI_FUZZ_CHECK(names.insert(b.name).second, what);
    POLYCSI_FUZZ_CHECK(!b.plugin.empty(), what);
    defaults += b.isDefault ? 1 : 0;
    nlohmann::json settings;
    try {
      settings = nlohmann::json::parse(b.settingsJson);
    } catch (const nlohmann::json::exception& e) {
      POLYCSI_FUZZ_CHECK(false, std::string("settingsJson is not JSON: ") + e.what() + "\n" + what);
    }
    POLYCSI_FUZZ_CHECK(settings.is_object(), what);
    std::set<std::string> keys;
    for (const auto& [key, value] : b.settings) keys.insert(key);
    for (const auto& key : b.structuredKeys) {
      POLYCSI_FUZZ_CHECK(keys.insert(key).second, "a key is scalar and structured: " + what);
      POLYCSI_FUZZ_CHECK(
          settings.contains(key) && (settings[key].is_object() || settings[key].is_array()), what);
    }
    std::set<std::string> jsonKeys;
    for (const auto& [key, value] : settings.items()) jsonKeys.insert(key);
    POLYCSI_FUZZ_CHECK(keys == jsonKeys, "settings and settingsJson hold different keys: " + what);
  }
  POLYCSI_FUZZ_CHECK(defaults <= 1, what);
  POLYCSI_FUZZ_CHECK(config.defaultBackend() != nullptr || config.backends.size() > 1, what);
}

void checkSettingsAgainstDescriptor(const DriverConfig& config) {
  static const Descriptor descriptor = fuzzDescriptor();
  for (size_t i = 0; i < config.backends.size(); ++i) {
    const auto problems = polycsi::config::checkBackendSettings(config, i, descriptor);
    for (const auto& problem : problems)
      POLYCSI_FUZZ_CHECK(problem.rfind("backends[" + std::to_string(i) + "].settings.", 0) == 0,
                         problem);
    const auto secrets = polycsi::config::secretValues(config, i, descriptor);
    const auto& settings = config.backends[i].settings;
    if (auto it = settings.find("password"); it != settings.end() && !it->second.empty())
      POLYCSI_FUZZ_CHECK(std::find(secrets.begin(), secrets.end(), it->second) != secrets.end(),
                         "the password is not among the secrets: " + describe(config));
    for (const auto& secret : secrets) POLYCSI_FUZZ_CHECK(!secret.empty(), describe(config));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const polycsi::StatusOr<DriverConfig> parsed = parseConfig(text);
  if (!parsed.isOk()) {
    POLYCSI_FUZZ_CHECK(parsed.status().code() == polycsi::Code::kInvalidArgument,
                       "refused with another code: " + parsed.status().toString());
    return 0;
  }
  const DriverConfig& config = *parsed;
  checkRules(config);
  checkSettingsAgainstDescriptor(config);
  const std::string written = write(config);
  const polycsi::StatusOr<DriverConfig> reparsed = parseConfig(written);
  POLYCSI_FUZZ_CHECK(reparsed.isOk(),
                     "the written configuration is refused: " + reparsed.status().message() +
                         "\nwritten:\n" + visible(written));
  const DriverConfig& again = *reparsed;
  POLYCSI_FUZZ_CHECK(same(config, again), "parsed: " + describe(config) + "\nwritten:\n" +
                                              visible(written) +
                                              "\nparsed again: " + describe(again));
  return 0;
}
