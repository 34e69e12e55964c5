#include "subdir_template.hpp"

#include <array>
#include <string_view>

namespace polycsi::nfs {
namespace {

constexpr size_t kMaxPathBytes = 1024;
constexpr size_t kMaxComponentBytes = 255;
constexpr size_t kMaxComponents = 16;
constexpr std::string_view kArchivedPrefix = "archived-";

Error invalid(const std::string& message) { return Error(Code::kInvalidArgument, message); }

}  // namespace

std::string printable(const std::string& text) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text.substr(0, 200)) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (text.size() > 200) out += "...";
  return out;
}

std::string expandSubDir(const std::string& templateText, const SubDirVariables& variables) {
  if (templateText.empty()) {
    checkSubDir(variables.volumeName, "the volume name used as subdirectory");
    return variables.volumeName;
  }
  struct Variable {
    std::string_view name;
    const std::string* value;
    const char* source;
  };
  const std::array<Variable, 3> known = {{
      {"pvc.metadata.name", &variables.pvcName, "csi.storage.k8s.io/pvc/name"},
      {"pvc.metadata.namespace", &variables.pvcNamespace, "csi.storage.k8s.io/pvc/namespace"},
      {"pv.metadata.name", &variables.pvName, "csi.storage.k8s.io/pv/name"},
  }};
  std::string out;
  size_t pos = 0;
  while (pos < templateText.size()) {
    size_t open = templateText.find("${", pos);
    if (open == std::string::npos) {
      out.append(templateText, pos, std::string::npos);
      break;
    }
    out.append(templateText, pos, open - pos);
    size_t close = templateText.find('}', open + 2);
    if (close == std::string::npos)
      throw invalid("subDir template '" + printable(templateText) + "' has an unterminated ${");
    std::string_view name(templateText.data() + open + 2, close - open - 2);
    const Variable* match = nullptr;
    for (const auto& v : known)
      if (v.name == name) match = &v;
    if (match == nullptr)
      throw invalid("subDir template '" + printable(templateText) +
                    "' names an unknown variable ${" + printable(std::string(name)) +
                    "} (known: ${pvc.metadata.name}, ${pvc.metadata.namespace}, "
                    "${pv.metadata.name})");
    if (match->value->empty())
      throw invalid("subDir template '" + printable(templateText) + "' needs ${" +
                    std::string(match->name) + "}, but the request carries no " + match->source +
                    " (run the external-provisioner with --extra-create-metadata)");
    out += *match->value;
    pos = close + 1;
  }
  checkSubDir(out, "subDir '" + printable(templateText) + "' expanded to '" + printable(out) + "'");
  return out;
}

void checkSubDir(const std::string& path, const std::string& what) {
  if (path.empty()) throw invalid(what + ": the path is empty");
  if (path.size() > kMaxPathBytes)
    throw invalid(what + ": the path is longer than " + std::to_string(kMaxPathBytes) + " bytes");
  for (char c : path) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f)
      throw invalid(what + ": the path contains a control character");
    if (c == '\\') throw invalid(what + ": the path contains a backslash");
  }
  if (path.front() == '/')
    throw invalid(what + ": the path is absolute; it must be relative to the export");
  size_t start = 0;
  size_t count = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view component(path.data() + start, end - start);
    if (component.empty()) throw invalid(what + ": the path has an empty component");
    if (component == "..") throw invalid(what + ": the path has a \"..\" component");
    if (component.front() == '.')
      throw invalid(what + ": component '" + std::string(component) +
                    "' starts with '.', which is reserved for the plugin's own directories");
    if (component.size() > kMaxComponentBytes)
      throw invalid(what + ": a component is longer than " + std::to_string(kMaxComponentBytes) +
                    " bytes");
    if (count == 0 && component.substr(0, kArchivedPrefix.size()) == kArchivedPrefix)
      throw invalid(what +
                    ": a first component starting with 'archived-' is reserved for "
                    "archived volumes");
    if (++count > kMaxComponents)
      throw invalid(what + ": the path has more than " + std::to_string(kMaxComponents) +
                    " components");
    start = end + 1;
  }
}

}  // namespace polycsi::nfs
