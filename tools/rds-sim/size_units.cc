#include "size_units.hpp"

#include <array>
#include <cctype>
#include <cstdio>
#include <limits>

namespace rds_sim {
namespace {

// 128-bit intermediates keep unit conversions exact; GCC and Clang both provide the type.
__extension__ typedef unsigned __int128 Uint128;

constexpr std::uint64_t kMaxSize = std::uint64_t{1} << 63;

// Multiplier for a unit suffix, or 0 when the suffix is not a size unit.
std::uint64_t unitMultiplier(std::string_view suffix) {
  if (suffix.empty() || suffix == "B") return 1;
  const char letter = static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0])));
  std::string_view rest = suffix.substr(1);
  if (!(rest.empty() || rest == "i" || rest == "iB" || rest == "B")) return 0;
  switch (letter) {
    case 'K':
      return std::uint64_t{1} << 10;
    case 'M':
      return std::uint64_t{1} << 20;
    case 'G':
      return std::uint64_t{1} << 30;
    case 'T':
      return std::uint64_t{1} << 40;
    case 'P':
      return std::uint64_t{1} << 50;
    default:
      return 0;
  }
}

}  // namespace

std::optional<std::uint64_t> parseRouterOsSize(std::string_view text) {
  std::size_t pos = 0;
  std::uint64_t whole = 0;
  std::size_t whole_digits = 0;
  while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (whole > (kMaxSize - digit) / 10) return std::nullopt;
    whole = whole * 10 + digit;
    ++pos;
    ++whole_digits;
  }
  if (whole_digits == 0) return std::nullopt;
  // The fraction is kept as an exact decimal (numerator / 10^digits) so that `1.5G` is exact.
  std::uint64_t fraction = 0;
  std::uint64_t fraction_scale = 1;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t fraction_digits = 0;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      if (fraction_digits < 9) {
        fraction = fraction * 10 + static_cast<std::uint64_t>(text[pos] - '0');
        fraction_scale *= 10;
      }
      ++pos;
      ++fraction_digits;
    }
    if (fraction_digits == 0) return std::nullopt;
  }
  const std::uint64_t multiplier = unitMultiplier(text.substr(pos));
  if (multiplier == 0) return std::nullopt;
  if (whole > kMaxSize / multiplier) return std::nullopt;
  std::uint64_t bytes = whole * multiplier;
  if (fraction != 0) {
    // multiplier <= 2^50 and fraction < 10^9 < 2^30: the product fits in 128 bits, not 64.
    const Uint128 numerator = static_cast<Uint128>(fraction) * multiplier + (fraction_scale - 1);
    const auto extra = static_cast<std::uint64_t>(numerator / fraction_scale);
    if (bytes > kMaxSize - extra) return std::nullopt;
    bytes += extra;
  }
  return bytes;
}

std::string formatSpacedDigits(std::uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(' ');
    out.push_back(digits[i]);
  }
  return out;
}

std::string formatBinarySize(std::uint64_t bytes) {
  if (bytes < 10000) return std::to_string(bytes);
  static constexpr std::array<const char*, 5> kUnits = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit = 0;
  std::uint64_t divisor = 1024;
  while (unit + 1 < kUnits.size() && bytes / divisor >= 10000) {
    ++unit;
    divisor <<= 10;
  }
  // Tenths, rounded to nearest, in integer arithmetic to avoid binary floating point surprises.
  const Uint128 tenths = (static_cast<Uint128>(bytes) * 10 + divisor / 2) / divisor;
  const auto whole = static_cast<std::uint64_t>(tenths / 10);
  const auto tenth = static_cast<unsigned>(tenths % 10);
  return std::to_string(whole) + "." + std::to_string(tenth) + kUnits[unit];
}

}  // namespace rds_sim
