// Checks on values that arrive as text: settings, StorageClass parameters, volume context.
// Pure functions; thread-safe.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace scratch {

// A positive decimal integer, or nullopt (also for zero, signs, spaces and overflow).
inline std::optional<int64_t> parsePositive(const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) return std::nullopt;
  return value;
}

// Three or four octal digits, as chmod takes them.
inline bool isOctalMode(const std::string& mode) {
  return (mode.size() == 3 || mode.size() == 4) &&
         std::all_of(mode.begin(), mode.end(), [](char c) { return c >= '0' && c <= '7'; });
}

}  // namespace scratch
