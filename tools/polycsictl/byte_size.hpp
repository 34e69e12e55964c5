// Byte sizes as people type and read them: "1Gi", "500M", "4096" in, "1.0 GiB" out.
// Pure functions: no state, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace polycsi::csictl {

// Parses a size in bytes. Accepts a whole or decimal number followed by an optional suffix:
// binary Ki/Mi/Gi/Ti/Pi (powers of 1024), decimal K (or k)/M/G/T/P (powers of 1000), each
// optionally followed by "B" ("1GiB", "500MB"); a bare "B" or no suffix means bytes.
// "1.5Gi" is accepted when it is a whole number of bytes. Throws std::invalid_argument naming
// the text and what is wrong for anything else: empty, negative, unknown suffix, fractional
// bytes, or more than INT64_MAX bytes (the CSI wire type).
std::int64_t parseSize(std::string_view text);

// Renders a byte count for people with binary units and one decimal: "512 B", "1.0 GiB",
// "1.5 TiB". Negative counts (never valid in CSI) render as plain numbers with " B".
std::string formatBytes(std::int64_t bytes);

}  // namespace polycsi::csictl
