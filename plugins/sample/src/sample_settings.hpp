// The sample backend's configuration: the `settings` of its entry in the driver config.
//
// THREADING: plain value, parsed once at init.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::sample {

struct SampleSettings {
  // Where volume and snapshot files live; absolute; created when missing.
  std::filesystem::path directory;
  // The total the backend offers; nullopt: whatever the filesystem has free.
  std::optional<int64_t> capacityBytes;
  // The largest volume it creates; nullopt: no limit of its own.
  std::optional<int64_t> maxVolumeBytes;
  // Fault injection for tests and demos of the core's behaviour under slow storage: every
  // controller create waits this long (bounded by the call's deadline). 0: off.
  int64_t createDelayMs = 0;

  // Parses and checks `settings`; throws INVALID_ARGUMENT naming the offending key.
  static SampleSettings parse(const StringMap& settings);
};

// The setting specs the descriptor declares (kept next to the parser so they cannot drift).
std::vector<SettingSpec> sampleSettingSpecs();

// The StorageClass / VolumeAttributesClass parameter `tier`: mutable (ControllerModifyVolume).
inline constexpr char kTierParameter[] = "tier";
// The parameter specs the descriptor declares: `tier`, mutable.
std::vector<SettingSpec> sampleParameterSpecs();
// `tier` from `parameters`: empty when absent; INVALID_ARGUMENT naming the parameter unless
// "standard" or "fast".
std::string tierOf(const StringMap& parameters);

}  // namespace polycsi::sample
