// Backend-local ids of the sample plugin's volumes and snapshots.
//
// An id is derived from the CSI name alone, so the same name always maps to the same id (that
// is what makes CreateVolume and CreateSnapshot idempotent across restarts without an index):
//
//   <prefix><name lowered, [a-z0-9-] only, at most 40 chars>-<16 hex digits of FNV-1a-64(name)>
//
// with prefix "vol-" or "snap-". Ids are also file names under the backend's directory, so every
// id received from the host is checked before it is turned into a path.
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace polycsi::sample {

enum class IdKind { kVolume, kSnapshot };

// The longest id the ABI allows.
inline constexpr size_t kMaxLocalIdBytes = 96;

// 64-bit FNV-1a of `bytes`.
uint64_t fnv1a64(std::string_view bytes);

// The id for an object of `kind` named `name` (any bytes; never empty in practice).
std::string deriveLocalId(IdKind kind, std::string_view name);

// "vol-" or "snap-".
std::string_view idPrefix(IdKind kind);

// True when `id` is a legal ABI id: 1..96 bytes of [A-Za-z0-9._-] and not "." or "..". Such an
// id is a single, harmless path component.
bool isLegalLocalId(std::string_view id);

// Throws INVALID_ARGUMENT naming `what` (e.g. "volume id") when `id` is not a legal local id.
void requireLegalLocalId(std::string_view id, const std::string& what);

// True when `id` has the shape deriveLocalId produces for `kind`. A legal id without that shape
// simply names nothing this backend made.
bool hasLocalIdShape(IdKind kind, std::string_view id);

}  // namespace polycsi::sample
