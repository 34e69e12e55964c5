// polycsi/paging.hpp: the CSI paging rules every plugin's listVolumes / listSnapshots follows.
#include "polycsi/paging.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace polycsi::paging {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Entry {
  std::string id;
  int payload = 0;
};

const TokenRule kRule{[](const std::string& token) { return token.rfind("e-", 0) == 0; },
                      [](const std::string& token) { return "token '" + token + "' is not ours"; }};

const std::string& idOf(const Entry& e) { return e.id; }

std::vector<std::string> ids(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.id);
  return out;
}

ListRequest request(int32_t maxEntries, std::string token = "") {
  ListRequest req;
  req.maxEntries = maxEntries;
  req.startingToken = std::move(token);
  return req;
}

const std::vector<Entry> kUnsorted{{"e-c", 3}, {"e-a", 1}, {"e-d", 4}, {"e-b", 2}};

// Matches a callable that throws polycsi::Error with `code`.
auto throwsCode(Code code) {
  return ::testing::Throws<Error>(::testing::Property(&Error::code, code));
}

TEST(PagingTest, AfterKeySortsAndReturnsEverythingWithoutALimit) {
  auto page = pageAfterKey(kUnsorted, request(0), kRule, idOf);
  EXPECT_THAT(ids(page.items), ElementsAre("e-a", "e-b", "e-c", "e-d"));
  EXPECT_EQ(page.nextToken, "");
  EXPECT_EQ(page.items.front().payload, 1);  // the entries move with their keys
}

TEST(PagingTest, AfterKeyWalksEveryEntryOnceAndTheLastPageHasNoToken) {
  auto first = pageAfterKey(kUnsorted, request(2), kRule, idOf);
  EXPECT_THAT(ids(first.items), ElementsAre("e-a", "e-b"));
  EXPECT_EQ(first.nextToken, "e-b");
  auto second = pageAfterKey(kUnsorted, request(2, first.nextToken), kRule, idOf);
  EXPECT_THAT(ids(second.items), ElementsAre("e-c", "e-d"));
  // Exactly full and nothing after it: no token, so the caller does not ask for an empty page.
  EXPECT_EQ(second.nextToken, "");
}

TEST(PagingTest, AfterKeyNeitherRepeatsNorSkipsWhenTheTokensEntryIsGone) {
  std::vector<Entry> without{{"e-a"}, {"e-c"}, {"e-d"}};
  auto page = pageAfterKey(without, request(0, "e-b"), kRule, idOf);
  EXPECT_THAT(ids(page.items), ElementsAre("e-c", "e-d"));
}

TEST(PagingTest, AfterKeyAcceptsATokenPastTheEndWithAnEmptyPage) {
  auto page = pageAfterKey(kUnsorted, request(2, "e-z"), kRule, idOf);
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.nextToken, "");
}

TEST(PagingTest, NegativeMaxEntriesIsInvalidArgumentBeforeTheToken) {
  try {
    pageAfterKey(kUnsorted, request(-1, "bad"), kRule, idOf);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kInvalidArgument);
    EXPECT_STREQ(e.what(), "max_entries must not be negative, got -1");
  }
  EXPECT_THAT([] { checkKeyRequest(request(-5), kRule); }, throwsCode(Code::kInvalidArgument));
  EXPECT_THAT([] { pageFromOffset(kUnsorted, request(-1), idOf); },
              throwsCode(Code::kInvalidArgument));
}

TEST(PagingTest, ATokenTheRuleRefusesIsAbortedWithTheRulesMessage) {
  try {
    pageAfterKey(kUnsorted, request(1, "x-1"), kRule, idOf);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kAborted);
    EXPECT_STREQ(e.what(), "token 'x-1' is not ours");
  }
  EXPECT_THAT([] { checkKeyRequest(request(0, "x-1"), kRule); }, throwsCode(Code::kAborted));
  EXPECT_NO_THROW(checkKeyRequest(request(0, "e-1"), kRule));
  EXPECT_NO_THROW(checkKeyRequest(request(0), kRule));
}

TEST(PagingTest, AfterKeyTakesKeysReturnedByValue) {
  auto page = pageAfterKey(std::vector<std::string>{"e-2", "e-1"}, request(1), kRule,
                           [](const std::string& s) { return s; });
  EXPECT_THAT(page.items, ElementsAre("e-1"));
  EXPECT_EQ(page.nextToken, "e-1");
}

TEST(PagingTest, FromOffsetSortsAndCountsFromTheStart) {
  auto first = pageFromOffset(kUnsorted, request(3), idOf);
  EXPECT_THAT(ids(first.items), ElementsAre("e-a", "e-b", "e-c"));
  EXPECT_EQ(first.nextToken, "3");
  auto rest = pageFromOffset(kUnsorted, request(3, first.nextToken), idOf);
  EXPECT_THAT(ids(rest.items), ElementsAre("e-d"));
  EXPECT_EQ(rest.nextToken, "");
  // The end itself is a valid start: an empty last page.
  EXPECT_TRUE(pageFromOffset(kUnsorted, request(0, "4"), idOf).items.empty());
}

TEST(PagingTest, FromOffsetRefusesTokensItCannotHaveIssued) {
  for (const char* bad : {"x", "-1", "1a", "1234567890"}) {
    try {
      pageFromOffset(kUnsorted, request(0, bad), idOf);
      ADD_FAILURE() << bad << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Code::kAborted) << bad;
      EXPECT_EQ(std::string(e.what()), std::string("starting token '") + bad + "' is not valid");
    }
  }
  try {
    pageFromOffset(kUnsorted, request(0, "5"), idOf);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kAborted);
    EXPECT_THAT(e.what(), HasSubstr("past the end"));
  }
}

}  // namespace
}  // namespace polycsi::paging
