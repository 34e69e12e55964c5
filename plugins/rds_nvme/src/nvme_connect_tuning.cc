#include "nvme_connect_tuning.hpp"

#include <charconv>
#include <string>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

struct Range {
  const char* key;
  int min;
  int max;
  const char* meaning;
};

constexpr Range kCtrlLossRange{kCtrlLossTmo, -1, 604800, "-1 (forever), 0 (the kernel's default)"};
constexpr Range kReconnectRange{kReconnectDelay, 1, 3600, ""};
constexpr Range kKeepAliveRange{kKeepAliveTmo, 0, 3600, "0 (the kernel's default)"};

std::optional<int> read(const StringMap& values, const Range& range, const char* where) {
  const auto it = values.find(range.key);
  if (it == values.end()) return std::nullopt;
  const std::string& text = it->second;
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < range.min ||
      value > range.max) {
    const std::string accepted =
        std::string(*range.meaning ? std::string(range.meaning) + " or " : "") +
        std::to_string(range.min < 1 ? 1 : range.min) + "-" + std::to_string(range.max) +
        " seconds";
    throw Error(Code::kInvalidArgument, std::string(where) + " " + range.key + "=" +
                                            printableForMessage(text) + " is not " + accepted);
  }
  return value;
}

}  // namespace

NvmeConnectTuning parseConnectTuning(const StringMap& values, const char* where) {
  return NvmeConnectTuning{read(values, kCtrlLossRange, where),
                           read(values, kReconnectRange, where),
                           read(values, kKeepAliveRange, where)};
}

void addToVolumeContext(const NvmeConnectTuning& tuning, StringMap& context) {
  if (tuning.ctrlLossTmoSeconds) context[kCtrlLossTmo] = std::to_string(*tuning.ctrlLossTmoSeconds);
  if (tuning.reconnectDelaySeconds)
    context[kReconnectDelay] = std::to_string(*tuning.reconnectDelaySeconds);
  if (tuning.keepAliveTmoSeconds)
    context[kKeepAliveTmo] = std::to_string(*tuning.keepAliveTmoSeconds);
}

NvmeConnectOptions tuned(NvmeConnectOptions options, const NvmeConnectTuning& tuning) {
  if (tuning.ctrlLossTmoSeconds) options.ctrlLossTmoSeconds = *tuning.ctrlLossTmoSeconds;
  if (tuning.reconnectDelaySeconds) options.reconnectDelaySeconds = *tuning.reconnectDelaySeconds;
  if (tuning.keepAliveTmoSeconds) options.keepAliveTmoSeconds = *tuning.keepAliveTmoSeconds;
  return options;
}

}  // namespace polycsi::rds_nvme
