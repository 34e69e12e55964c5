#include "attach/recorded_window.hpp"

#include <charconv>

namespace polycsi::attach {

std::optional<std::string> recordedWindowFor(const VolumeAttachmentState& state,
                                             const std::string& nodeId) {
  if (!state.migrating() || state.nodes.size() != 2 || state.nodes[1] != nodeId)
    return std::nullopt;
  return std::to_string(state.migrationTimeout.count());
}

StatusOr<std::optional<std::chrono::seconds>> parseRecordedWindow(const nlohmann::json& metadata) {
  if (!metadata.is_object()) return std::optional<std::chrono::seconds>();
  const auto found = metadata.find(kRecordedWindowKey);
  if (found == metadata.end()) return std::optional<std::chrono::seconds>();
  const std::string text = found->is_string() ? found->get<std::string>() : found->dump();
  int seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || seconds < 1 ||
      seconds > kRecordedWindowMaxSeconds)
    return Status(Code::kInvalidArgument, std::string("attachment metadata ") + kRecordedWindowKey +
                                              " '" + text +
                                              "' is not a whole number of seconds from 1 to " +
                                              std::to_string(kRecordedWindowMaxSeconds));
  return std::optional<std::chrono::seconds>(std::chrono::seconds(seconds));
}

}  // namespace polycsi::attach
