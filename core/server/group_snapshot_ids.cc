#include "server/group_snapshot_ids.hpp"

#include <cstdint>
#include <cstdio>

namespace polycsi::server {
namespace {

constexpr std::string_view kGroupPrefix = "grp-";
constexpr size_t kReadableChars = 40;
constexpr size_t kHashDigits = 16;

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

}  // namespace

std::string groupLocalIdForName(std::string_view name) {
  std::string readable;
  for (char c : name) {
    if (readable.size() == kReadableChars) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    readable.push_back(isLowerAlnum(c) ? c : '-');
  }
  char hash[kHashDigits + 1];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv1a64(name)));
  return std::string(kGroupPrefix) + readable + "-" + hash;
}

bool isGroupLocalId(std::string_view localId) {
  if (localId.size() < kGroupPrefix.size() + 1 + kHashDigits ||
      localId.size() > kGroupPrefix.size() + kReadableChars + 1 + kHashDigits ||
      localId.substr(0, kGroupPrefix.size()) != kGroupPrefix)
    return false;
  std::string_view hash = localId.substr(localId.size() - kHashDigits);
  if (localId[localId.size() - kHashDigits - 1] != '-') return false;
  for (char c : hash)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  for (char c :
       localId.substr(kGroupPrefix.size(), localId.size() - kGroupPrefix.size() - kHashDigits - 1))
    if (!isLowerAlnum(c) && c != '-') return false;
  return true;
}

std::string groupMemberName(std::string_view groupLocalId, size_t index) {
  return std::string(groupLocalId) + "-m" + std::to_string(index);
}

}  // namespace polycsi::server
