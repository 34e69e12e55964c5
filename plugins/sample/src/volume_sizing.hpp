// How the sample plugin turns a CSI capacity range into a volume size.
//
// THREADING: pure functions.
#pragma once

#include <cstdint>
#include <optional>

namespace polycsi::sample {

// Volume sizes are whole MiB (loop devices need 512-byte multiples; MiB keeps them tidy).
inline constexpr int64_t kAllocationUnitBytes = int64_t{1} << 20;
// The size of a volume created without a required size.
inline constexpr int64_t kDefaultVolumeBytes = int64_t{1} << 30;

// `bytes` rounded up to a whole allocation unit; throws OUT_OF_RANGE when that overflows.
int64_t roundUpToUnit(int64_t bytes);

// The size of a new volume for a request of `requiredBytes` (0: default) and `limitBytes` (0: no
// limit), at least `minimumBytes` (the source's size for restores and clones, else 0), and at
// most `maxVolumeBytes` when set. Throws INVALID_ARGUMENT for negative numbers and OUT_OF_RANGE
// when no size fits.
int64_t chooseVolumeSize(int64_t requiredBytes, int64_t limitBytes, int64_t minimumBytes,
                         std::optional<int64_t> maxVolumeBytes);

}  // namespace polycsi::sample
