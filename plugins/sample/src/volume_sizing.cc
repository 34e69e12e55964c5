#include "volume_sizing.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi::sample {

int64_t roundUpToUnit(int64_t bytes) {
  if (bytes > std::numeric_limits<int64_t>::max() - kAllocationUnitBytes)
    throw Error(Code::kOutOfRange, std::to_string(bytes) + " bytes is too large a volume size");
  return (bytes + kAllocationUnitBytes - 1) / kAllocationUnitBytes * kAllocationUnitBytes;
}

int64_t chooseVolumeSize(int64_t requiredBytes, int64_t limitBytes, int64_t minimumBytes,
                         std::optional<int64_t> maxVolumeBytes) {
  if (requiredBytes < 0 || limitBytes < 0)
    throw Error(Code::kInvalidArgument, "required_bytes (" + std::to_string(requiredBytes) +
                                            ") and limit_bytes (" + std::to_string(limitBytes) +
                                            ") must not be negative");
  if (limitBytes > 0 && requiredBytes > limitBytes)
    throw Error(Code::kOutOfRange, "required_bytes " + std::to_string(requiredBytes) +
                                       " exceeds limit_bytes " + std::to_string(limitBytes));
  int64_t size = 0;
  if (requiredBytes > 0) {
    size = roundUpToUnit(requiredBytes);
  } else if (minimumBytes == 0) {
    size = kDefaultVolumeBytes;
    // A limit below the default still gets the largest whole-unit volume under it.
    if (limitBytes > 0 && limitBytes < size)
      size = limitBytes / kAllocationUnitBytes * kAllocationUnitBytes;
  }
  size = std::max(size, roundUpToUnit(minimumBytes));
  if (size == 0)
    throw Error(Code::kOutOfRange, "limit_bytes " + std::to_string(limitBytes) +
                                       " is smaller than the 1 MiB allocation unit");
  if (limitBytes > 0 && size > limitBytes)
    throw Error(Code::kOutOfRange,
                "the volume would be " + std::to_string(size) +
                    " bytes (whole MiB, at least the source's size) which exceeds limit_bytes " +
                    std::to_string(limitBytes));
  if (maxVolumeBytes && size > *maxVolumeBytes)
    throw Error(Code::kOutOfRange, "the volume would be " + std::to_string(size) +
                                       " bytes, more than this backend's max_volume_bytes " +
                                       std::to_string(*maxVolumeBytes));
  return size;
}

}  // namespace polycsi::sample
