// YAML → JSON conversion for backend settings handed to plugins as `settings_json`.
// Internal to core/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

namespace polycsi::config {

// Converts a YAML node to JSON. Quoted or explicitly tagged scalars stay strings; plain scalars
// become null, booleans, integers or numbers when they read as such in the YAML 1.2 core
// schema (e.g. `~`, `true`, `42`, `0x1f`, `1.5e3`) and strings otherwise. Map keys become
// strings. Pure function; thread-safe.
nlohmann::json yamlToJson(const YAML::Node& node);

}  // namespace polycsi::config
