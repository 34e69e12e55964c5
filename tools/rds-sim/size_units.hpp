// Byte sizes as RouterOS reads and prints them: `file-size=50G` on input, `53 687 091 200` and
// `50.0GiB` on output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rds_sim {

// Parses a RouterOS size argument: plain bytes (`1048576`) or a number with a binary unit
// (`512K`, `50G`, `1T`, `1.5G`, also spelled `50GiB`/`50GB`; units are powers of 1024, as on
// RouterOS). A fractional value is rounded up to a whole byte. Returns nullopt for anything
// else, for a negative value and for a result above 2^63. Pure function, thread-safe.
std::optional<std::uint64_t> parseRouterOsSize(std::string_view text);

// Prints an integer with its digits grouped by three and separated by spaces, the way RouterOS
// prints byte counts (`53 687 091 200`). Pure function, thread-safe.
std::string formatSpacedDigits(std::uint64_t value);

// Prints a byte count with one decimal and a binary unit, the way RouterOS prints `file-size`
// and `/file` sizes (`50.0GiB`, `1924.1KiB`, `1024.0GiB` for 1 TiB): the smallest unit whose
// value stays below 10000, plain bytes when the count itself is below 10000. Rounds to the
// nearest tenth. Pure function, thread-safe.
std::string formatBinarySize(std::uint64_t bytes);

}  // namespace rds_sim
