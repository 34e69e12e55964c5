#include "server/group_snapshot_ids.hpp"

#include <cstdint>
#include <cstdio>

namespace polycsi::server {
namespace {

constexpr std::string_view kGroupPrefix = "grp-";
constexpr size_t kReadableChars = 40;
constexpr size_t kNameHashDigits = 16;
constexpr size_t kSetHashDigits = 8;

// FNV-1a, 64 bit: stable everywhere (std::hash is not), and enough to keep names apart; a
// collision would show as ALREADY_EXISTS (different source volumes), never as shared members.
uint64_t fnv1a64(std::string_view text) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// The low `digits` hex digits of `value`, zero-padded.
std::string hex(uint64_t value, size_t digits) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return std::string(text + 16 - digits);
}

}  // namespace

std::string groupIdPrefixForName(std::string_view name) {
  std::string readable;
  for (char c : name) {
    if (readable.size() == kReadableChars) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    readable.push_back(isLowerAlnum(c) ? c : '-');
  }
  return std::string(kGroupPrefix) + readable + "-" + hex(fnv1a64(name), kNameHashDigits) + "-";
}

std::string groupLocalId(std::string_view name, const std::vector<std::string>& sortedSources) {
  // '\n' cannot occur in a CSI id of ours, so the joined text names one list only.
  std::string joined;
  for (const auto& s : sortedSources) joined += s + "\n";
  return groupIdPrefixForName(name) + hex(fnv1a64(joined), kSetHashDigits);
}

bool isGroupLocalId(std::string_view id) {
  // grp-<readable>-<16 hex>-<8 hex>
  constexpr size_t kTail = 1 + kNameHashDigits + 1 + kSetHashDigits;
  if (id.size() < kGroupPrefix.size() + kTail ||
      id.size() > kGroupPrefix.size() + kReadableChars + kTail ||
      id.substr(0, kGroupPrefix.size()) != kGroupPrefix)
    return false;
  auto isHex = [](std::string_view text) {
    for (char c : text)
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
  };
  std::string_view tail = id.substr(id.size() - kTail);
  if (tail[0] != '-' || tail[1 + kNameHashDigits] != '-' ||
      !isHex(tail.substr(1, kNameHashDigits)) || !isHex(tail.substr(2 + kNameHashDigits)))
    return false;
  for (char c : id.substr(kGroupPrefix.size(), id.size() - kGroupPrefix.size() - kTail))
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

std::string groupMemberName(std::string_view groupLocalId, size_t index) {
  return std::string(groupLocalId) + "-m" + std::to_string(index);
}

}  // namespace polycsi::server
