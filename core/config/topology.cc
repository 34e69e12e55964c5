#include "config/topology.hpp"

namespace polycsi::config {
namespace {

// Kubernetes' limits (apimachinery validation: IsQualifiedName, IsDNS1123Subdomain,
// IsValidLabelValue), which the CSI spec adopts for topology keys and values.
constexpr size_t kMaxNameBytes = 63;
constexpr size_t kMaxPrefixBytes = 253;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], at most 63 characters.
std::string nameProblem(std::string_view name, const char* what) {
  if (name.empty()) return std::string(what) + " is empty";
  if (name.size() > kMaxNameBytes) return std::string(what) + " is longer than 63 characters";
  if (!isAlnum(name.front()) || !isAlnum(name.back()))
    return std::string(what) + " must begin and end with a letter or digit";
  for (char c : name)
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.')
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
  return "";
}

// A DNS-1123 subdomain: lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])? joined by dots.
std::string prefixProblem(std::string_view prefix) {
  if (prefix.empty()) return "the prefix before '/' is empty";
  if (prefix.size() > kMaxPrefixBytes) return "the prefix is longer than 253 characters";
  size_t start = 0;
  while (start <= prefix.size()) {
    size_t dot = prefix.find('.', start);
    std::string_view label =
        prefix.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !isLowerAlnum(label.front()) || !isLowerAlnum(label.back()))
      return "the prefix must be a DNS subdomain (lowercase letters, digits, '-' and '.', "
             "each part beginning and ending with a letter or digit)";
    for (char c : label)
      if (!isLowerAlnum(c) && c != '-')
        return "the prefix must be a DNS subdomain (lowercase letters, digits, '-' and '.')";
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return "";
}

}  // namespace

std::string labelKeyProblem(std::string_view key) {
  size_t slash = key.find('/');
  if (slash == std::string_view::npos) return nameProblem(key, "the name");
  if (key.find('/', slash + 1) != std::string_view::npos) return "has more than one '/'";
  if (std::string p = prefixProblem(key.substr(0, slash)); !p.empty()) return p;
  return nameProblem(key.substr(slash + 1), "the name after '/'");
}

std::string labelValueProblem(std::string_view value) { return nameProblem(value, "the value"); }

bool segmentsServe(const StringMap& segments, const StringMap& requested) {
  for (const auto& [key, value] : segments) {
    auto it = requested.find(key);
    if (it == requested.end() || it->second != value) return false;
  }
  return true;
}

StatusOr<StringMap> nodeTopology(const DriverConfig& config) {
  StringMap out;
  StringMap from;  // key -> the backend that gave its value
  for (const auto& backend : config.backends) {
    for (const auto& [key, value] : backend.topology) {
      auto [it, inserted] = out.emplace(key, value);
      if (inserted) {
        from[key] = backend.name;
      } else if (it->second != value) {
        return Status(Code::kInvalidArgument,
                      "topology: backends '" + from[key] + "' and '" + backend.name +
                          "' put this node in two segments of " + key + " ('" + it->second +
                          "' and '" + value +
                          "'); a node reports one value per key, so list in a node's "
                          "configuration only the backends that node reaches "
                          "(docs/configuration.md, Topology)");
      }
    }
  }
  return out;
}

bool anyTopology(const DriverConfig& config) {
  for (const auto& backend : config.backends)
    if (!backend.topology.empty()) return true;
  return false;
}

}  // namespace polycsi::config
