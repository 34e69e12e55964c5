// YAML → JSON conversion for backend settings handed to plugins as `settings_json`.
// Internal to core/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <nlohmann/json.hpp>

#include "polycsi/types.hpp"

namespace polycsi::config {

// Bounds on the JSON a YAML document may expand to. YAML aliases share nodes, so a few lines
// of `&a [*b, *b, ...]` chains stand for billions of nodes once written out as JSON; the
// conversion stops at these bounds instead of exhausting memory.
struct YamlToJsonLimits {
  size_t maxNodes = 100000;  // scalars, sequences and maps written, aliases counted each time
  size_t maxDepth = 64;      // nesting of sequences and maps
};

// Converts a YAML node to JSON. Quoted or explicitly tagged scalars stay strings; plain scalars
// become null, booleans, integers or numbers when they read as such in the YAML 1.2 core
// schema (e.g. `~`, `true`, `42`, `0x1f`, `1.5e3`) and strings otherwise. Map keys become
// strings; a map key that is itself a sequence or map is refused. Pure function; thread-safe.
// INVALID_ARGUMENT when the document exceeds a limit (the message names it) or has a map key
// that is a sequence or map.
StatusOr<nlohmann::json> yamlToJson(const YAML::Node& node, const YamlToJsonLimits& limits = {});

}  // namespace polycsi::config
