// YAML → JSON conversion (YAML 1.2 core schema for plain scalars).
#include "config/yaml_to_json.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>

namespace polycsi::config {
namespace {

// yaml-cpp tags plain (unquoted, untagged) scalars "?"; only those are resolved by content.
constexpr const char* kPlainScalarTag = "?";

std::optional<int64_t> parseInteger(const std::string& text) {
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  int base = 10;
  std::string digits = text;
  if (std::regex_match(text, kDecimal)) {
    if (digits.front() == '+') digits.erase(0, 1);
  } else if (std::regex_match(text, kOctal)) {
    base = 8;
    digits = text.substr(2);
  } else if (std::regex_match(text, kHex)) {
    base = 16;
    digits = text.substr(2);
  } else {
    return std::nullopt;
  }
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<double> parseFloat(const std::string& text) {
  static const std::regex kFloat(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (!std::regex_match(text, kFloat)) return std::nullopt;
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return std::nullopt;
  return value;
}

nlohmann::json resolvePlainScalar(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (auto integer = parseInteger(text)) return *integer;
  if (auto number = parseFloat(text)) return *number;
  // Everything else, including integers too large for int64 and .inf/.nan (which JSON cannot
  // represent), stays text.
  return text;
}

// Walks the tree once, counting every node written so that shared (aliased) nodes count each
// time they are expanded. The first problem stops the walk and stays in problem().
class Converter {
 public:
  explicit Converter(const YamlToJsonLimits& limits) : limits_(limits) {}

  // The JSON of `node`; meaningless once problem() is not OK.
  nlohmann::json convert(const YAML::Node& node, size_t depth) {
    if (++nodes_ > limits_.maxNodes)
      return refuse("expands to more than " + std::to_string(limits_.maxNodes) +
                    " values (YAML aliases are expanded; settings are never this large)");
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        if (node.Tag() == kPlainScalarTag) return resolvePlainScalar(node.Scalar());
        return node.Scalar();
      case YAML::NodeType::Sequence: {
        if (depth >= limits_.maxDepth) return refuseDepth();
        nlohmann::json array = nlohmann::json::array();
        for (const auto& item : node) {
          array.push_back(convert(item, depth + 1));
          if (!problem_.isOk()) return nullptr;
        }
        return array;
      }
      case YAML::NodeType::Map: {
        if (depth >= limits_.maxDepth) return refuseDepth();
        nlohmann::json object = nlohmann::json::object();
        for (const auto& entry : node) {
          const YAML::Node& key = entry.first;
          if (!key.IsScalar() && !key.IsNull())
            return refuse("has a map key that is a list or map; keys must be text");
          object[key.IsScalar() ? key.Scalar() : std::string()] = convert(entry.second, depth + 1);
          if (!problem_.isOk()) return nullptr;
        }
        return object;
      }
    }
    return nullptr;
  }

  const Status& problem() const { return problem_; }

 private:
  nlohmann::json refuse(const std::string& why) {
    problem_ = Status(Code::kInvalidArgument, why);
    return nullptr;
  }
  nlohmann::json refuseDepth() {
    return refuse("nests lists and maps more than " + std::to_string(limits_.maxDepth) +
                  " levels deep");
  }

  const YamlToJsonLimits& limits_;
  size_t nodes_ = 0;
  Status problem_;
};

}  // namespace

StatusOr<nlohmann::json> yamlToJson(const YAML::Node& node, const YamlToJsonLimits& limits) {
  Converter converter(limits);
  nlohmann::json json = converter.convert(node, 0);
  if (!converter.problem().isOk()) return converter.problem();
  return json;
}

}  // namespace polycsi::config
