#include "byte_size.hpp"

#include <array>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace polycsi::csictl {
namespace {

struct SizeSuffix {
  std::string_view name;
  std::int64_t multiplier;
};

constexpr std::int64_t kKi = 1024;
constexpr std::int64_t kK = 1000;

// Longest names first so "Gi" wins over "G".
// (clang-format would read the products below as pointer declarations.)
// clang-format off
constexpr std::array<SizeSuffix, 11> kSuffixes = {{
    {"Ki", kKi},
    {"Mi", kKi * kKi},
    {"Gi", kKi * kKi * kKi},
    {"Ti", kKi * kKi * kKi * kKi},
    {"Pi", kKi * kKi * kKi * kKi * kKi},
    {"K", kK},
    {"k", kK},
    {"M", kK * kK},
    {"G", kK * kK * kK},
    {"T", kK * kK * kK * kK},
    {"P", kK * kK * kK * kK * kK},
}};
// clang-format on

// Wide enough for any mantissa times any multiplier without overflow (GCC/Clang builtin).
__extension__ using WideInt = __int128;

[[noreturn]] void rejectSize(std::string_view text, const std::string& why) {
  throw std::invalid_argument("invalid size '" + std::string(text) + "': " + why +
                              " (expected e.g. 1073741824, 1Gi, 500Mi, 10G)");
}

std::int64_t multiplierFor(std::string_view text, std::string_view suffix) {
  if (suffix.empty() || suffix == "B") return 1;
  if (suffix.back() == 'B') suffix.remove_suffix(1);
  for (const SizeSuffix& candidate : kSuffixes) {
    if (candidate.name == suffix) return candidate.multiplier;
  }
  rejectSize(
      text, "unknown unit '" + std::string(suffix) + "' (use Ki, Mi, Gi, Ti, Pi, K, M, G, T or P)");
}

}  // namespace

std::int64_t parseSize(std::string_view text) {
  if (text.empty()) rejectSize(text, "empty");
  if (text.front() == '-') rejectSize(text, "sizes cannot be negative");

  // Exact arithmetic in 128 bits: the value is whole_digits.fraction_digits * multiplier, and
  // it must come out as a whole number of bytes.
  WideInt mantissa = 0;
  WideInt divisor = 1;
  std::size_t pos = 0;
  std::size_t digits = 0;
  bool in_fraction = false;
  constexpr WideInt kMantissaCap = static_cast<WideInt>(1) << 100;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c >= '0' && c <= '9') {
      mantissa = mantissa * 10 + (c - '0');
      if (in_fraction) divisor *= 10;
      ++digits;
      if (mantissa > kMantissaCap || divisor > kMantissaCap) rejectSize(text, "too large");
    } else if (c == '.' && !in_fraction) {
      in_fraction = true;
    } else {
      break;
    }
  }
  if (digits == 0) rejectSize(text, "no number");
  if (text[pos - 1] == '.') rejectSize(text, "a decimal point needs digits after it");

  const std::int64_t multiplier = multiplierFor(text, text.substr(pos));
  const WideInt scaled = mantissa * multiplier;
  if (scaled % divisor != 0) rejectSize(text, "not a whole number of bytes");
  const WideInt bytes = scaled / divisor;
  if (bytes > std::numeric_limits<std::int64_t>::max()) {
    rejectSize(text, "larger than the largest CSI size (2^63-1 bytes)");
  }
  return static_cast<std::int64_t>(bytes);
}

std::string formatBytes(std::int64_t bytes) {
  if (bytes < kKi) return std::to_string(bytes) + " B";
  static constexpr std::array<const char*, 6> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes) / kKi;
  std::size_t unit = 0;
  while (value >= kKi && unit + 1 < kUnits.size()) {
    value /= kKi;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f %s", value, kUnits[unit]);
  return buffer;
}

}  // namespace polycsi::csictl
