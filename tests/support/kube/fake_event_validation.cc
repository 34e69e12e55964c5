#include "fake_event_validation.hpp"

#include <regex>
#include <vector>

namespace polycsi::kube::testing {
namespace {

constexpr std::size_t kReportingInstanceLimit = 128;
constexpr std::size_t kActionLimit = 128;
constexpr std::size_t kReasonLimit = 128;
constexpr std::size_t kNoteLimit = 1024;

std::string stringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// k8s.io/apimachinery pkg/util/validation IsDNS1123Subdomain.
bool isDns1123Subdomain(const std::string& value) {
  static const std::regex kSubdomain(
      R"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)");
  return !value.empty() && value.size() <= 253 && std::regex_match(value, kSubdomain);
}

// k8s.io/apimachinery pkg/util/validation IsQualifiedName: [prefix/]name, the name at most 63
// characters of alphanumerics, '-', '_' and '.', starting and ending alphanumeric.
bool isQualifiedName(const std::string& value) {
  static const std::regex kName(R"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)");
  const std::size_t slash = value.find('/');
  const std::string name = slash == std::string::npos ? value : value.substr(slash + 1);
  if (slash != std::string::npos) {
    const std::string prefix = value.substr(0, slash);
    if (!isDns1123Subdomain(prefix) || name.find('/') != std::string::npos) return false;
  }
  return !name.empty() && name.size() <= 63 && std::regex_match(name, kName);
}

}  // namespace

std::optional<ApiRefusal> refuseEventCreate(const nlohmann::json& body,
                                            const std::string& urlNamespace) {
  const nlohmann::json metadata = body.is_object()
                                      ? body.value("metadata", nlohmann::json::object())
                                      : nlohmann::json::object();
  std::string eventNamespace = stringAt(metadata, "namespace");
  if (!eventNamespace.empty() && eventNamespace != urlNamespace) {
    return ApiRefusal{400, "BadRequest",
                      "the namespace of the provided object does not match the namespace sent "
                      "on the request"};
  }
  eventNamespace = urlNamespace;
  const std::string name = stringAt(metadata, "name");
  if (name.empty() && stringAt(metadata, "generateName").empty()) {
    return ApiRefusal{400, "BadRequest", "Name parameter required."};
  }

  const nlohmann::json involved = body.value("involvedObject", nlohmann::json::object());
  const std::string involvedNamespace = stringAt(involved, "namespace");
  std::vector<std::string> errors;
  const auto mismatch = [&] {
    errors.push_back("involvedObject.namespace: Invalid value: \"" + involvedNamespace +
                     "\": does not match event.namespace");
  };
  if (stringAt(body, "eventTime").empty()) {
    if (involvedNamespace.empty()) {
      if (!eventNamespace.empty() && eventNamespace != "default") mismatch();
    } else if (eventNamespace != involvedNamespace) {
      mismatch();
    }
  } else {
    if (involvedNamespace.empty() && eventNamespace != "default" &&
        eventNamespace != "kube-system") {
      mismatch();
    }
    const std::string component = stringAt(body, "reportingComponent");
    if (component.empty()) {
      errors.push_back("reportingComponent: Required value");
    } else if (!isQualifiedName(component)) {
      errors.push_back("reportingComponent: Invalid value: \"" + component +
                       "\": not a qualified name");
    }
    const auto bounded = [&](const char* field, std::size_t limit) {
      const std::string value = stringAt(body, field);
      if (value.empty()) errors.push_back(std::string(field) + ": Required value");
      if (value.size() > limit) {
        errors.push_back(std::string(field) + ": Invalid value: \"\": can have at most " +
                         std::to_string(limit) + " characters");
      }
    };
    bounded("reportingInstance", kReportingInstanceLimit);
    bounded("action", kActionLimit);
    bounded("reason", kReasonLimit);
    if (stringAt(body, "message").size() > kNoteLimit) {
      errors.push_back("message: Invalid value: \"\": can have at most " +
                       std::to_string(kNoteLimit) + " characters");
    }
  }
  if (!isDns1123Subdomain(eventNamespace)) {
    errors.push_back("namespace: Invalid value: \"" + eventNamespace +
                     "\": a lowercase RFC 1123 subdomain must consist of lower case "
                     "alphanumeric characters, '-' or '.'");
  }
  if (errors.empty()) return std::nullopt;
  std::string message =
      "Event \"" + (name.empty() ? stringAt(metadata, "generateName") : name) + "\" is invalid: [";
  for (std::size_t i = 0; i < errors.size(); ++i) message += (i ? ", " : "") + errors[i];
  return ApiRefusal{422, "Invalid", message + "]"};
}

}  // namespace polycsi::kube::testing
