// Timestamps in PowerStore REST answers (`creation_timestamp` and the like): RFC 3339, e.g.
// "2023-01-31T07:49:52.123+00:00" or "2023-01-31T07:49:52Z". Dell's driver reads them with
// Go's time.RFC3339 (dell/csi-powerstore pkg/controller/csi_extension_server.go).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace polycsi::iscsi_powerstore {

// Nanoseconds since the Unix epoch (UTC) of an RFC 3339 date-time with a 'Z' or +hh:mm /
// -hh:mm offset and an optional fraction of a second (digits beyond nanoseconds are dropped);
// nullopt for anything else, including dates that do not exist (a 31st of April).
std::optional<int64_t> parseRfc3339UnixNs(std::string_view text);

}  // namespace polycsi::iscsi_powerstore
