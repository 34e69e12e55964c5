// Durations as people type them on the command line: "30s", "500ms", "2m", "1h", or a bare
// number of seconds. Pure function: no state, thread-safe.
#pragma once

#include <chrono>
#include <string_view>

namespace polycsi::csictl {

// Parses a positive whole-number duration with unit ms, s, m or h (none = seconds). Throws
// std::invalid_argument naming the text for zero, negative, fractional, unknown-unit or
// absurdly long (over 24 h) durations.
std::chrono::milliseconds parseDuration(std::string_view text);

}  // namespace polycsi::csictl
