#include "server/backend_paging.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <map>

namespace polycsi::server {
namespace {

TEST(BackendPagingTest, CursorsRoundTripAndRejectForeignTokens) {
  auto cursor = parseCursor(formatCursor({2, "vol-17"}), 3);
  ASSERT_TRUE(cursor.isOk());
  EXPECT_EQ(cursor->backendIndex, 2u);
  EXPECT_EQ(cursor->pluginToken, "vol-17");
  auto withColon = parseCursor("1:a:b", 3);
  ASSERT_TRUE(withColon.isOk());
  EXPECT_EQ(withColon->pluginToken, "a:b") << "the plugin's token is kept whole";
  auto empty = parseCursor("", 3);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(empty->backendIndex, 0u);
  for (const char* bad : {"3:x", "x:1", "12", ":x", "-1:x"})
    EXPECT_EQ(parseCursor(bad, 3).status().code(), Code::kAborted) << bad;
}

// Two stand-in backends, told apart by address; the fetch function plays their plugins, which
// page with their own numeric tokens.
TEST(BackendPagingTest, PagesSpanBackendsAndResumeWhereAPluginStopped) {
  const int first = 0, second = 0;
  const auto* a = reinterpret_cast<const plugin_host::ConfiguredBackend*>(&first);
  const auto* b = reinterpret_cast<const plugin_host::ConfiguredBackend*>(&second);
  std::map<const plugin_host::ConfiguredBackend*, std::vector<int>> data = {{a, {1, 2, 3}},
                                                                            {b, {4, 5}}};
  std::function<StatusOr<BackendPage<int>>(const plugin_host::ConfiguredBackend&,
                                           const std::string&, int32_t)>
      fetch = [&](const plugin_host::ConfiguredBackend& backend, const std::string& token,
                  int32_t max) {
        const auto& items = data.at(&backend);
        size_t start = token.empty() ? 0 : std::stoul(token);
        size_t end = max == 0 ? items.size() : std::min(items.size(), start + size_t(max));
        BackendPage<int> page;
        for (size_t i = start; i < end; ++i) page.items.push_back(items[i]);
        if (end < items.size()) page.nextToken = std::to_string(end);
        return StatusOr<BackendPage<int>>(page);
      };

  std::vector<std::vector<int>> pages;
  std::string token;
  do {
    std::vector<int> page;
    auto next = pageAcrossBackends<int>({a, b}, token, 2, fetch, page);
    ASSERT_TRUE(next.isOk()) << next.status().toString();
    pages.push_back(page);
    token = *next;
    ASSERT_LT(pages.size(), 6u) << "paging must end";
  } while (!token.empty());
  EXPECT_EQ(pages, (std::vector<std::vector<int>>{{1, 2}, {3, 4}, {5}}));

  std::vector<int> all;
  auto whole = pageAcrossBackends<int>({a, b}, "", 0, fetch, all);
  ASSERT_TRUE(whole.isOk());
  EXPECT_EQ(*whole, "");
  EXPECT_EQ(all, (std::vector<int>{1, 2, 3, 4, 5}));

  std::vector<int> out;
  EXPECT_EQ(pageAcrossBackends<int>({a, b}, "", -1, fetch, out).status().code(),
            Code::kInvalidArgument);
}

}  // namespace
}  // namespace polycsi::server
