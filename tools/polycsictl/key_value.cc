#include "key_value.hpp"

#include <stdexcept>

namespace polycsi::csictl {

std::pair<std::string, std::string> parseKeyValue(std::string_view text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    throw std::invalid_argument("expected key=value but got '" + std::string(text) + "' (no '=')");
  }
  if (equals == 0) {
    throw std::invalid_argument("expected key=value but got '" + std::string(text) +
                                "' (empty key)");
  }
  return {std::string(text.substr(0, equals)), std::string(text.substr(equals + 1))};
}

std::map<std::string, std::string> parseKeyValues(std::string_view flag_name,
                                                  const std::vector<std::string>& items) {
  std::map<std::string, std::string> result;
  for (const std::string& item : items) {
    std::pair<std::string, std::string> entry;
    try {
      entry = parseKeyValue(item);
    } catch (const std::invalid_argument& error) {
      throw std::invalid_argument(std::string(flag_name) + ": " + error.what());
    }
    if (!result.emplace(entry.first, entry.second).second) {
      throw std::invalid_argument(std::string(flag_name) + ": key '" + entry.first +
                                  "' given more than once");
    }
  }
  return result;
}

}  // namespace polycsi::csictl
