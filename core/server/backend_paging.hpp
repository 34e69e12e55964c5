// Pages through a list that spans several backends. The CSI token is "<backend index>:<the
// plugin's own token>", so each page resumes exactly where the plugin stopped.
#pragma once

#include <charconv>
#include <functional>
#include <string>
#include <vector>

#include "plugin_host/backend_registry.hpp"
#include "polycsi/types.hpp"

namespace polycsi::server {

struct BackendCursor {
  size_t backendIndex = 0;
  std::string pluginToken;
};

// ABORTED (as CSI asks for an invalid starting_token) when `token` is not one of ours.
inline StatusOr<BackendCursor> parseCursor(const std::string& token, size_t backendCount) {
  if (token.empty()) return BackendCursor{};
  const Status invalid(Code::kAborted, "starting_token '" + token + "' is not valid");
  // The colon is looked for first: a pointer npos characters past the token is undefined.
  auto colon = token.find(':');
  if (colon == std::string::npos) return invalid;
  size_t index = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + colon, index);
  if (ec != std::errc() || end != token.data() + colon || index >= backendCount) return invalid;
  return BackendCursor{index, token.substr(colon + 1)};
}

inline std::string formatCursor(const BackendCursor& cursor) {
  return std::to_string(cursor.backendIndex) + ":" + cursor.pluginToken;
}

// One plugin's page: the items it returned (already converted) and its next token.
template <typename Item>
struct BackendPage {
  std::vector<Item> items;
  std::string nextToken;
};

// Collects up to maxEntries (0: all) items across `backends` starting at `token`, calling
// `fetch(backend, pluginToken, remaining)` per backend. Returns the next CSI token ("" at end).
template <typename Item>
StatusOr<std::string> pageAcrossBackends(
    const std::vector<const plugin_host::ConfiguredBackend*>& backends, const std::string& token,
    int32_t maxEntries,
    const std::function<StatusOr<BackendPage<Item>>(const plugin_host::ConfiguredBackend&,
                                                    const std::string&, int32_t)>& fetch,
    std::vector<Item>& out) {
  if (maxEntries < 0) return Status(Code::kInvalidArgument, "max_entries must not be negative");
  auto cursor = parseCursor(token, backends.size());
  if (!cursor.isOk()) return cursor.status();
  for (size_t i = cursor->backendIndex; i < backends.size(); ++i) {
    int32_t remaining = maxEntries == 0 ? 0 : maxEntries - static_cast<int32_t>(out.size());
    if (maxEntries != 0 && remaining <= 0) return formatCursor({i, ""});
    std::string pluginToken = i == cursor->backendIndex ? cursor->pluginToken : "";
    auto page = fetch(*backends[i], pluginToken, remaining);
    if (!page.isOk()) return page.status();
    for (auto& item : page->items) out.push_back(std::move(item));
    if (!page->nextToken.empty()) return formatCursor({i, page->nextToken});
  }
  return std::string();
}

}  // namespace polycsi::server
