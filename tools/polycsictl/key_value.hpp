// key=value arguments (--param, --secret, --context ...) turned into CSI string maps.
// Pure functions: no state, thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace polycsi::csictl {

// Splits "key=value" at the first '='; the value may be empty and may itself contain '='.
// Throws std::invalid_argument when the '=' is missing or the key is empty.
std::pair<std::string, std::string> parseKeyValue(std::string_view text);

// Parses every item of a repeated flag into a map. `flag_name` (e.g. "--param") only names
// the flag in error messages. Throws std::invalid_argument for a malformed item or a key
// given twice.
std::map<std::string, std::string> parseKeyValues(std::string_view flag_name,
                                                  const std::vector<std::string>& items);

}  // namespace polycsi::csictl
