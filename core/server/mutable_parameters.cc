#include "server/mutable_parameters.hpp"

#include <charconv>
#include <string_view>

#include "server/csi_validation.hpp"

namespace polycsi::server {
namespace {

bool isWellFormedInteger(std::string_view digits) {
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  if (digits.empty()) return false;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  return ec == std::errc() && end == digits.data() + digits.size();
}

// The problem with `value` for `spec`'s kind (as backend settings are checked), or empty.
std::string kindProblem(const SettingSpec& spec, const std::string& value) {
  if (spec.kind == SettingKind::kInteger && !isWellFormedInteger(value))
    return "must be an integer, got '" + value + "'";
  if (spec.kind == SettingKind::kBoolean && value != "true" && value != "false")
    return "must be true or false, got '" + value + "'";
  return {};
}

std::string backendLabel(const plugin_host::ConfiguredBackend& backend) {
  return "backend '" + backend.name() + "' (plugin " + backend.descriptor().name + ")";
}

}  // namespace

bool hasMigrationWindow(const Descriptor& descriptor) {
  for (const auto& c : descriptor.capabilities)
    if (c.semantics == AttachSemantics::kMigrationWindow) return true;
  return false;
}

bool hasMutableParameters(const plugin_host::ConfiguredBackend& backend) {
  return mutableParameterNames(backend) != "none";
}

std::string mutableParameterNames(const plugin_host::ConfiguredBackend& backend) {
  std::string names;
  if (hasMigrationWindow(backend.descriptor())) names = kMigrationTimeoutParameter;
  for (const auto& spec : backend.descriptor().parameters)
    if (spec.isMutable) names += (names.empty() ? "" : ", ") + spec.name;
  return names.empty() ? "none" : names;
}

StatusOr<MutableParameters> checkMutableParameters(
    const plugin_host::ConfiguredBackend& backend,
    const google::protobuf::Map<std::string, std::string>& params, const std::string& field) {
  MutableParameters out;
  for (const auto& [key, value] : params) {
    const std::string where = field + "." + key;
    if (key == kMigrationTimeoutParameter && hasMigrationWindow(backend.descriptor())) {
      auto timeout = parseMigrationTimeout(value);
      if (!timeout.isOk())
        return Status(Code::kInvalidArgument, where + ": " + timeout.status().message());
      out.migrationTimeoutSeconds = *timeout;
      continue;
    }
    const SettingSpec* spec = nullptr;
    for (const auto& p : backend.descriptor().parameters)
      if (p.name == key && p.isMutable) spec = &p;
    if (spec == nullptr)
      return Status(Code::kInvalidArgument,
                    where + ": " + backendLabel(backend) +
                        " cannot change this parameter on a live volume (mutable parameters: " +
                        mutableParameterNames(backend) + ")");
    if (auto problem = kindProblem(*spec, value); !problem.empty())
      return Status(Code::kInvalidArgument,
                    where + " of " + backendLabel(backend) + ": " + problem);
    out.plugin[key] = value;
  }
  return out;
}

}  // namespace polycsi::server
