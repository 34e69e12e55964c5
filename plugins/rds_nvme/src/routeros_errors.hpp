// Maps RouterOS error replies to polycsi (gRPC/CSI) codes.
//
// RouterOS answers a failed command with text such as `failure: not enough space`,
// `no such item`, `expected end of command (line 1 column 12)` or `syntax error`, and (over
// SSH exec) a non-zero exit status. classifyReply recognises them so each becomes the code a
// CSI caller can act on.
//
// THREADING: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "command_transport.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

// The code for one RouterOS error text (first line of the reply), e.g.
//   "no such item", "failure: no such item" -> NOT_FOUND
//   "failure: ... already ..."           -> ALREADY_EXISTS
//   "failure: not enough space"          -> RESOURCE_EXHAUSTED
//   "failure: ... busy / in use"         -> FAILED_PRECONDITION
//   "not enough permissions"             -> PERMISSION_DENIED
//   "invalid value ... size"             -> OUT_OF_RANGE
//   syntax errors ("expected ...", "syntax error", "bad command name", "invalid value ...",
//   "input does not match ...", "unknown parameter")  -> INTERNAL: the plugin built a command
//   this RouterOS does not understand (a version mismatch), not a caller mistake
//   any other "failure: ..."             -> INTERNAL
Code codeForRouterOsError(std::string_view errorText);

// nullopt when the reply is a success; otherwise the Status describing the failure of
// `commandText` (the message quotes RouterOS's words so an operator can act on them).
// A reply is a failure when the exit status is non-zero or its first non-empty line is a
// RouterOS error text.
std::optional<Status> classifyReply(const CommandReply& reply, std::string_view commandText);

}  // namespace polycsi::rds_nvme
