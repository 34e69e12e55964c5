// The error a PowerStore REST call answers with, and its JSON body.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace powerstore_sim {

// Thrown by the store and the handlers; the server turns it into `status` with Dell's body
// {"messages":[{"code","severity":"Error","message_l10n","arguments"}]}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, const std::string& message,
           std::vector<std::string> arguments = {})
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        arguments_(std::move(arguments)) {}

  int status() const { return status_; }
  // Dell's body for this error.
  nlohmann::json body() const {
    return {{"messages", nlohmann::json::array({{{"code", code_},
                                                 {"severity", "Error"},
                                                 {"message_l10n", what()},
                                                 {"arguments", arguments_}}})}};
  }

 private:
  int status_;
  std::string code_;
  std::vector<std::string> arguments_;
};

// Codes the simulator uses (shaped like the array's, not copied from it).
inline constexpr const char* kCodeBadRequest = "0xE04040010002";
inline constexpr const char* kCodeNotFound = "0xE04040010005";
inline constexpr const char* kCodeNameInUse = "0xE0A07001000C";
inline constexpr const char* kCodeInUse = "0xE0A070010027";
inline constexpr const char* kCodeUnauthorized = "0xE09040040001";
inline constexpr const char* kCodeForbidden = "0xE09040040002";
inline constexpr const char* kCodeRange = "0xE04040010010";

}  // namespace powerstore_sim
