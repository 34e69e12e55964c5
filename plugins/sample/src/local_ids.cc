#include "local_ids.hpp"

#include <cstdio>

#include "polycsi/types.hpp"

namespace polycsi::sample {
namespace {

constexpr size_t kMaxReadablePart = 40;
constexpr size_t kHashDigits = 16;

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isHexDigit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

uint64_t fnv1a64(std::string_view bytes) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string_view idPrefix(IdKind kind) { return kind == IdKind::kVolume ? "vol-" : "snap-"; }

std::string deriveLocalId(IdKind kind, std::string_view name) {
  // The readable part is only for humans looking at the directory; uniqueness comes from the
  // hash of the full name, and the metadata file records the name to catch a collision.
  std::string readable;
  for (char c : name) {
    if (readable.size() == kMaxReadablePart) break;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    readable.push_back(isLowerAlnum(c) ? c : '-');
  }
  char hash[kHashDigits + 1];
  std::snprintf(hash, sizeof(hash), "%016llx", static_cast<unsigned long long>(fnv1a64(name)));
  return std::string(idPrefix(kind)) + readable + "-" + hash;
}

bool isLegalLocalId(std::string_view id) {
  if (id.empty() || id.size() > kMaxLocalIdBytes || id == "." || id == "..") return false;
  for (char c : id) {
    bool ok = isLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void requireLegalLocalId(std::string_view id, const std::string& what) {
  if (!isLegalLocalId(id))
    throw Error(Code::kInvalidArgument,
                what + " '" + std::string(id) +
                    "' is malformed: expected 1 to 96 characters of [A-Za-z0-9._-], not '.' or "
                    "'..'");
}

bool hasLocalIdShape(IdKind kind, std::string_view id) {
  std::string_view prefix = idPrefix(kind);
  if (id.size() < prefix.size() + 1 + kHashDigits || id.substr(0, prefix.size()) != prefix)
    return false;
  std::string_view rest = id.substr(prefix.size());
  std::string_view readable = rest.substr(0, rest.size() - kHashDigits - 1);
  std::string_view hash = rest.substr(rest.size() - kHashDigits);
  if (readable.size() > kMaxReadablePart || rest[rest.size() - kHashDigits - 1] != '-')
    return false;
  for (char c : readable)
    if (!isLowerAlnum(c) && c != '-') return false;
  for (char c : hash)
    if (!isHexDigit(c)) return false;
  return true;
}

}  // namespace polycsi::sample
