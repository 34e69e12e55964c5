// Rendering untrusted text inside error and log messages.
//
// THREADING: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace polycsi::rds_nvme {

// `text` in single quotes with every byte outside printable ASCII written as \xNN and quotes
// and backslashes escaped, cut to 80 characters (with the original length noted), so a message
// never carries control characters, terminal escapes or an unbounded payload.
std::string printableForMessage(std::string_view text);

}  // namespace polycsi::rds_nvme
