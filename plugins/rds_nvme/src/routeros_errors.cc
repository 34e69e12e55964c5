#include "routeros_errors.hpp"

#include <algorithm>
#include <cctype>
#include <string>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool has(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string_view firstNonEmptyLine(std::string_view text) {
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (!line.empty()) return line;
    if (end == std::string_view::npos) break;
    text = text.substr(end + 1);
  }
  return {};
}

bool isSyntaxError(const std::string& t) {
  return t.rfind("expected ", 0) == 0 || has(t, "syntax error") || has(t, "bad command name") ||
         t.rfind("invalid value", 0) == 0 || has(t, "input does not match") ||
         has(t, "unknown parameter") || has(t, "no such command") ||
         t.rfind("ambiguous value", 0) == 0 || t.rfind("missing value", 0) == 0;
}

// True for a line RouterOS uses to report an error (as opposed to print output).
bool isErrorLine(const std::string& t) {
  return t.rfind("failure:", 0) == 0 || t.rfind("no such item", 0) == 0 ||
         t.rfind("not enough permissions", 0) == 0 || t.rfind("error:", 0) == 0 || isSyntaxError(t);
}

}  // namespace

Code codeForRouterOsError(std::string_view errorText) {
  std::string t = lower(errorText);
  // Published transcripts show both `no such item` (networktocode/ntc-templates,
  // ip_address_get_iface_failure.raw) and `failure: no such item` (3whiskeywhiskey/rds-csi,
  // docs/rds-commands.md, for /disk remove): both mean the item is gone.
  const bool noSuchItem =
      t.rfind("no such item", 0) == 0 || t.rfind("failure: no such item", 0) == 0;
  if (noSuchItem || has(t, "no such file") || has(t, "not found")) return Code::kNotFound;
  if (has(t, "not enough permissions") || has(t, "permission denied") || has(t, "not permitted") ||
      has(t, "not allowed"))
    return Code::kPermissionDenied;
  if (has(t, "invalid value") && has(t, "size")) return Code::kOutOfRange;
  if (isSyntaxError(t)) return Code::kInternal;
  if (has(t, "already") || has(t, "exists")) return Code::kAlreadyExists;
  if (has(t, "not enough space") || has(t, "no space") || has(t, "disk full") ||
      has(t, "out of space") || has(t, "no free space"))
    return Code::kResourceExhausted;
  if (has(t, "busy") || has(t, "in use")) return Code::kFailedPrecondition;
  return Code::kInternal;
}

std::optional<Status> classifyReply(const CommandReply& reply, std::string_view commandText) {
  std::string_view first = firstNonEmptyLine(reply.output);
  if (first.empty()) first = firstNonEmptyLine(reply.errorOutput);
  std::string firstLower = lower(first);
  bool errorText = isErrorLine(firstLower);
  if (reply.exitStatus == 0 && !errorText) return std::nullopt;
  if (first.empty())
    return Status(Code::kInternal, "RouterOS command `" + std::string(commandText) +
                                       "` failed with exit status " +
                                       std::to_string(reply.exitStatus) + " and no message");
  Code code = codeForRouterOsError(first);
  std::string message =
      "RouterOS refused `" + std::string(commandText) + "`: " + printableForMessage(first);
  if (code == Code::kInternal && isSyntaxError(firstLower))
    message += " (this RouterOS version may not support the command the plugin sends)";
  return Status(code, message);
}

}  // namespace polycsi::rds_nvme
