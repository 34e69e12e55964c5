#include "volume_sizing.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "polycsi/types.hpp"

namespace polycsi::sample {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

Code codeOf(int64_t required, int64_t limit, int64_t minimum, std::optional<int64_t> max) {
  try {
    chooseVolumeSize(required, limit, minimum, max);
    return Code::kOk;
  } catch (const Error& e) {
    return e.code();
  }
}

TEST(VolumeSizing, DefaultsToOneGiB) {
  EXPECT_EQ(chooseVolumeSize(0, 0, 0, std::nullopt), int64_t{1} << 30);
}

TEST(VolumeSizing, DefaultShrinksToALowerLimit) {
  EXPECT_EQ(chooseVolumeSize(0, 5 * kMiB + 7, 0, std::nullopt), 5 * kMiB);
}

TEST(VolumeSizing, RoundsUpToWholeMiB) {
  EXPECT_EQ(chooseVolumeSize(1, 0, 0, std::nullopt), kMiB);
  EXPECT_EQ(chooseVolumeSize(kMiB, 0, 0, std::nullopt), kMiB);
  EXPECT_EQ(chooseVolumeSize(kMiB + 1, 0, 0, std::nullopt), 2 * kMiB);
}

TEST(VolumeSizing, NeverSmallerThanTheSource) {
  EXPECT_EQ(chooseVolumeSize(0, 0, 8 * kMiB, std::nullopt), 8 * kMiB);
  EXPECT_EQ(chooseVolumeSize(2 * kMiB, 0, 8 * kMiB, std::nullopt), 8 * kMiB);
  EXPECT_EQ(chooseVolumeSize(9 * kMiB, 0, 8 * kMiB, std::nullopt), 9 * kMiB);
}

TEST(VolumeSizing, RefusesWhatCannotFit) {
  EXPECT_EQ(codeOf(3 * kMiB, 2 * kMiB, 0, std::nullopt), Code::kOutOfRange);
  EXPECT_EQ(codeOf(kMiB + 1, kMiB + 2, 0, std::nullopt), Code::kOutOfRange);  // rounding
  EXPECT_EQ(codeOf(0, 4 * kMiB, 8 * kMiB, std::nullopt), Code::kOutOfRange);  // source too big
  EXPECT_EQ(codeOf(0, kMiB - 1, 0, std::nullopt), Code::kOutOfRange);
  EXPECT_EQ(codeOf(5 * kMiB, 0, 0, 4 * kMiB), Code::kOutOfRange);
  EXPECT_EQ(codeOf(std::numeric_limits<int64_t>::max(), 0, 0, std::nullopt), Code::kOutOfRange);
  EXPECT_EQ(codeOf(-1, 0, 0, std::nullopt), Code::kInvalidArgument);
  EXPECT_EQ(codeOf(4 * kMiB, 0, 0, 4 * kMiB), Code::kOk);
}

}  // namespace
}  // namespace polycsi::sample
