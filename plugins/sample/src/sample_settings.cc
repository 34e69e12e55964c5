#include "sample_settings.hpp"

#include <charconv>
#include <string>

namespace polycsi::sample {
namespace {

constexpr char kDirectory[] = "directory";
constexpr char kCapacityBytes[] = "capacity_bytes";
constexpr char kMaxVolumeBytes[] = "max_volume_bytes";
constexpr char kCreateDelayMs[] = "create_delay_ms";
constexpr int64_t kMaxCreateDelayMs = 60000;

std::optional<int64_t> positiveInteger(const StringMap& settings, const char* key) {
  auto it = settings.find(key);
  if (it == settings.end()) return std::nullopt;
  const std::string& text = it->second;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value <= 0)
    throw Error(Code::kInvalidArgument, std::string("setting '") + key +
                                            "' must be a positive integer (bytes), got '" + text +
                                            "'");
  return value;
}

}  // namespace

SampleSettings SampleSettings::parse(const StringMap& settings) {
  // Unknown keys never get here: the core refuses them against sampleSettingSpecs().
  SampleSettings out;
  auto dir = settings.find(kDirectory);
  if (dir == settings.end() || dir->second.empty())
    throw Error(Code::kInvalidArgument, "setting 'directory' is required");
  out.directory = dir->second;
  if (!out.directory.is_absolute())
    throw Error(Code::kInvalidArgument,
                "setting 'directory' must be an absolute path, got '" + dir->second + "'");
  out.capacityBytes = positiveInteger(settings, kCapacityBytes);
  out.maxVolumeBytes = positiveInteger(settings, kMaxVolumeBytes);
  out.createDelayMs = positiveInteger(settings, kCreateDelayMs).value_or(0);
  if (out.createDelayMs > kMaxCreateDelayMs)
    throw Error(Code::kInvalidArgument, "setting 'create_delay_ms' must be at most 60000");
  return out;
}

std::vector<SettingSpec> sampleSettingSpecs() {
  return {
      SettingSpec{kDirectory, SettingKind::kString, true, false,
                  "Absolute path of the directory holding volume and snapshot files; created "
                  "when missing. Node plugins must see it at the same path."},
      SettingSpec{kCapacityBytes, SettingKind::kInteger, false, false,
                  "Total bytes the backend offers (sum of volume and snapshot sizes). Default: "
                  "the free space of the directory's filesystem."},
      SettingSpec{kMaxVolumeBytes, SettingKind::kInteger, false, false,
                  "Largest volume the backend creates, in bytes. Default: no limit."},
      SettingSpec{kCreateDelayMs, SettingKind::kInteger, false, false,
                  "Fault injection: milliseconds every volume creation waits before it starts "
                  "(at most 60000). For testing how the core handles slow storage. Default: 0."},
  };
}

std::vector<SettingSpec> sampleParameterSpecs() {
  SettingSpec tier{kTierParameter, SettingKind::kString, false, false,
                   "A label, \"standard\" or \"fast\", recorded with the volume and reported in "
                   "its volume context as `tier`. Mutable: a VolumeAttributesClass may set it at "
                   "creation and change it on a live volume. It changes nothing else; it is there "
                   "so the SDK's modify path is exercised end to end."};
  tier.isMutable = true;
  return {tier};
}

std::string tierOf(const StringMap& parameters) {
  auto it = parameters.find(kTierParameter);
  if (it == parameters.end()) return {};
  if (it->second != "standard" && it->second != "fast")
    throw Error(Code::kInvalidArgument, std::string("parameter '") + kTierParameter +
                                            "' must be \"standard\" or \"fast\", got '" +
                                            it->second + "'");
  return it->second;
}

}  // namespace polycsi::sample
