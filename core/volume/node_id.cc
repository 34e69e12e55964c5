// Node ids: "<node-name>|<plugin>=<identity>|...", plugins in name order.
#include <string>
#include <vector>

#include "volume/volume_id.hpp"

namespace polycsi::volume {
namespace {

// Kubernetes node names are DNS subdomains (at most 253 bytes); upper case is tolerated
// because some clusters register nodes with their host name as written.
constexpr size_t kMaxNodeNameBytes = 253;

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string nodeNameProblem(std::string_view name) {
  if (name.empty()) return "node name is empty";
  if (name.size() > kMaxNodeNameBytes)
    return "node name is longer than " + std::to_string(kMaxNodeNameBytes) + " bytes";
  for (char c : name)
    if (!isAlnum(c) && c != '.' && c != '-')
      return "node name '" + std::string(name) + "' may only contain [A-Za-z0-9.-]";
  return {};
}

std::string pluginNameProblem(std::string_view plugin) {
  if (plugin.empty()) return "plugin name is empty";
  for (char c : plugin)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return "plugin name '" + std::string(plugin) + "' may only contain [a-z0-9_]";
  return {};
}

// An empty identity is allowed: a plugin that needs none reports "".
std::string identityProblem(std::string_view plugin, std::string_view identity) {
  for (char c : identity)
    if (!isAlnum(c) && c != '.' && c != ':' && c != '_' && c != '-')
      return "identity '" + std::string(identity) + "' of plugin " + std::string(plugin) +
             " may only contain [A-Za-z0-9.:_-]";
  return {};
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace

StatusOr<std::string> encodeNodeId(const NodeId& id) {
  if (auto problem = nodeNameProblem(id.name); !problem.empty())
    return Status(Code::kInvalidArgument, "cannot encode node id: " + problem);
  std::string text = id.name;
  // std::map iterates in name order, which makes the encoding stable.
  for (const auto& [plugin, identity] : id.identities) {
    if (auto problem = pluginNameProblem(plugin); !problem.empty())
      return Status(Code::kInvalidArgument, "cannot encode node id: " + problem);
    if (auto problem = identityProblem(plugin, identity); !problem.empty())
      return Status(Code::kInvalidArgument, "cannot encode node id: " + problem);
    text += "|" + plugin + "=" + identity;
  }
  if (text.size() > kMaxNodeIdBytes)
    return Status(Code::kInvalidArgument, "node id for " + id.name + " is " +
                                              std::to_string(text.size()) + " bytes, more than " +
                                              std::to_string(kMaxNodeIdBytes));
  return text;
}

StatusOr<NodeId> decodeNodeId(std::string_view text) {
  auto invalid = [&](const std::string& why) {
    return Status(Code::kInvalidArgument,
                  "node id '" + std::string(text) + "' is malformed: " + why);
  };
  if (text.size() > kMaxNodeIdBytes)
    return invalid("longer than " + std::to_string(kMaxNodeIdBytes) + " bytes");
  auto parts = split(text, '|');
  NodeId id;
  id.name = std::string(parts[0]);
  if (auto problem = nodeNameProblem(id.name); !problem.empty()) return invalid(problem);
  for (size_t i = 1; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    size_t eq = part.find('=');
    if (eq == std::string_view::npos)
      return invalid("'" + std::string(part) + "' is not <plugin>=<identity>");
    std::string plugin(part.substr(0, eq));
    std::string identity(part.substr(eq + 1));
    if (auto problem = pluginNameProblem(plugin); !problem.empty()) return invalid(problem);
    if (auto problem = identityProblem(plugin, identity); !problem.empty()) return invalid(problem);
    if (!id.identities.emplace(plugin, identity).second)
      return invalid("plugin " + plugin + " appears twice");
  }
  return id;
}

}  // namespace polycsi::volume
