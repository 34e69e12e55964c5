// Paging for a plugin's listVolumes / listSnapshots: the CSI rules for max_entries and
// starting_token, the order of the entries and the cursor, written once for every plugin.
//
// Contract (CSI spec v1.12, ListVolumes / ListSnapshots):
//   - max_entries < 0                      → Error kInvalidArgument
//     ("max_entries must not be negative, got N"); 0 means "no limit".
//   - a starting_token the plugin did not issue → Error kAborted, with a message that says so
//     (the caller restarts the listing from the beginning).
//   - the entries come in ascending order of their key (byte-wise std::string order); a page
//     holds at most max_entries of them, and next_token is non-empty exactly when entries remain
//     after the page.
// Two cursors exist:
//   - pageAfterKey: the token is the key of the page's last entry and the next page starts after
//     it. Deleting or adding entries between pages neither repeats nor skips the others. Keys
//     must be unique (a duplicate key at a page boundary would be skipped).
//   - pageFromOffset: the token is the decimal index of the next entry. For a source that cannot
//     offer a key the plugin can recognise again; entries deleted between pages shift the rest.
// Threading: pure functions of their arguments; safe from any thread. Nothing here is retained.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::paging {

// How a plugin recognises a token it issued with pageAfterKey, and how it words the refusal of
// one it did not. Both members are required.
struct TokenRule {
  // True when `token` has the shape of a key this plugin issues (it need not still exist).
  std::function<bool(const std::string& token)> issued;
  // The message of the kAborted error for a token that `issued` refuses.
  std::function<std::string(const std::string& token)> refusal;
};

// One page of entries and the token of the next page ("" when this page is the last).
template <typename Item>
struct Page {
  std::vector<Item> items;
  std::string nextToken;
};

// Throws Error(kInvalidArgument) when req.maxEntries is negative.
inline void checkMaxEntries(const ListRequest& req) {
  if (req.maxEntries < 0)
    throw Error(Code::kInvalidArgument,
                "max_entries must not be negative, got " + std::to_string(req.maxEntries));
}

// The checks of pageAfterKey without the listing, for a plugin that wants to refuse a bad
// request before it reaches its storage. Throws Error(kInvalidArgument) for a negative
// max_entries, then Error(kAborted, rule.refusal(token)) for a token `rule` does not recognise.
inline void checkKeyRequest(const ListRequest& req, const TokenRule& rule) {
  checkMaxEntries(req);
  if (!req.startingToken.empty() && !rule.issued(req.startingToken))
    throw Error(Code::kAborted, rule.refusal(req.startingToken));
}

namespace detail {

template <typename Item, typename KeyOf>
void sortByKey(std::vector<Item>& items, KeyOf& keyOf) {
  std::stable_sort(items.begin(), items.end(),
                   [&](const Item& a, const Item& b) { return std::less<>{}(keyOf(a), keyOf(b)); });
}

}  // namespace detail

// The page of `items` that req.startingToken and req.maxEntries select, with a key cursor:
// `items` (any order) are sorted by keyOf(item), a std::string (or a reference to one); the page
// starts after the token's key and its next token is the key of its last entry. Throws as
// checkKeyRequest does.
template <typename Item, typename KeyOf>
Page<Item> pageAfterKey(std::vector<Item> items, const ListRequest& req, const TokenRule& rule,
                        KeyOf keyOf) {
  checkKeyRequest(req, rule);
  detail::sortByKey(items, keyOf);
  auto it = items.begin();
  if (!req.startingToken.empty())
    it = std::upper_bound(items.begin(), items.end(), req.startingToken,
                          [&](const std::string& token, const Item& item) {
                            return std::less<>{}(token, keyOf(item));
                          });
  Page<Item> page;
  for (; it != items.end(); ++it) {
    if (req.maxEntries > 0 && page.items.size() == static_cast<std::size_t>(req.maxEntries)) {
      page.nextToken = std::string(keyOf(page.items.back()));
      break;
    }
    page.items.push_back(std::move(*it));
  }
  return page;
}

// The page of `items` that req.startingToken and req.maxEntries select, with an offset cursor:
// `items` (any order) are sorted by keyOf(item); the token is the decimal index of the page's
// first entry. Throws Error(kInvalidArgument) for a negative max_entries and Error(kAborted)
// for a token that is not a decimal index of at most 9 digits ("starting token '<t>' is not
// valid") or lies past the end of the list ("starting token is past the end").
template <typename Item, typename KeyOf>
Page<Item> pageFromOffset(std::vector<Item> items, const ListRequest& req, KeyOf keyOf) {
  checkMaxEntries(req);
  std::size_t start = 0;
  if (!req.startingToken.empty()) {
    // Nine digits fit any int32 list size and keep std::stoul from overflowing.
    if (req.startingToken.find_first_not_of("0123456789") != std::string::npos ||
        req.startingToken.size() > 9)
      throw Error(Code::kAborted, "starting token '" + req.startingToken + "' is not valid");
    start = std::stoul(req.startingToken);
    if (start > items.size()) throw Error(Code::kAborted, "starting token is past the end");
  }
  detail::sortByKey(items, keyOf);
  const std::size_t end =
      req.maxEntries > 0 ? std::min(items.size(), start + static_cast<std::size_t>(req.maxEntries))
                         : items.size();
  Page<Item> page;
  page.items.assign(std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(start)),
                    std::make_move_iterator(items.begin() + static_cast<std::ptrdiff_t>(end)));
  if (end < items.size()) page.nextToken = std::to_string(end);
  return page;
}

}  // namespace polycsi::paging
