#include "duration.hpp"

#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

[[noreturn]] void rejectDuration(std::string_view text, const std::string& why) {
  throw std::invalid_argument("invalid duration '" + std::string(text) + "': " + why +
                              " (expected e.g. 30s, 500ms, 2m)");
}

}  // namespace

std::chrono::milliseconds parseDuration(std::string_view text) {
  std::uint64_t count = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [rest, error] = std::from_chars(begin, end, count);
  if (error == std::errc::result_out_of_range) rejectDuration(text, "too long");
  if (error != std::errc() || rest == begin) rejectDuration(text, "no whole number");

  const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
  std::uint64_t unit_ms = 0;
  if (unit.empty() || unit == "s") {
    unit_ms = 1000;
  } else if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "m") {
    unit_ms = 60 * 1000;
  } else if (unit == "h") {
    unit_ms = 60 * 60 * 1000;
  } else {
    rejectDuration(text, "unknown unit '" + std::string(unit) + "' (use ms, s, m or h)");
  }
  constexpr std::uint64_t kMaxMs = 24ULL * 60 * 60 * 1000;
  if (count == 0) rejectDuration(text, "must be greater than zero");
  if (count > kMaxMs / unit_ms) rejectDuration(text, "longer than 24h");
  return std::chrono::milliseconds(count * unit_ms);
}

}  // namespace polycsi::csictl
