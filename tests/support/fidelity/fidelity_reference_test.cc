// FidelityReference: the calls a section of docs/fidelity.md lists, and which requests they
// cover. The checks that use it are only as strict as its matching, so each rule is shown
// with a request that must pass and one that must not.
#include "fidelity_reference.hpp"

#include <gtest/gtest.h>

namespace polycsi::testing {
namespace {

constexpr char kDocument[] = R"(# Title

## REST

| Call | Query | Source |
|---|---|---|
| `GET volume?select=id,name&name=eq.<name>` (find) | paged | guide |
| `GET volume/<id>?select=id,size` | instance | guide |
| `POST volume/<id>/snapshot`, `POST volume/<id>/clone` | `{name}` | guide |
| any call answered 403 (`RestClient::send`) | log in | guide |

## Other

| `DELETE volume/<id>` | | |

## CLI

| Command | Output | Source |
|---|---|---|
| `/disk print detail where slot=<slot>` | entries | docs |
| `/disk add type=file file-path=<path> file-size=<size>` | | docs |
| `GET not/a/command` | | |
)";

FidelityReference rest() {
  return FidelityReference::parse(kDocument, "REST", {"/api/rest/", {"limit", "offset"}});
}

TEST(FidelityReferenceTest, ListsTheCallsOfItsSectionOnly) {
  const auto reference = rest();
  EXPECT_EQ(reference.size(), 4u) << "prose in backticks is not a call";
  EXPECT_FALSE(reference.lists("DELETE /api/rest/volume/v1")) << "listed in another section";
  EXPECT_EQ(FidelityReference::parse(kDocument, "Other", {}).size(), 1u);
}

TEST(FidelityReferenceTest, WildcardsMatchAnyValueAndTheRestLiterally) {
  const auto reference = rest();
  EXPECT_TRUE(reference.lists("GET /api/rest/volume/7f3a?select=id,size"));
  EXPECT_TRUE(reference.lists("POST /api/rest/volume/7f3a/clone"));
  EXPECT_FALSE(reference.lists("POST /api/rest/volume/7f3a/restore"));
  EXPECT_FALSE(reference.lists("GET /api/rest/volume/7f3a")) << "without its select";
  EXPECT_FALSE(reference.lists("GET /api/rest/volume/7f3a?select=id,size,name"));
  EXPECT_FALSE(reference.lists("GET /api/rest/volume/?select=id,size")) << "empty id";
  EXPECT_FALSE(reference.lists("PATCH /api/rest/volume/7f3a?select=id,size")) << "method";
  EXPECT_TRUE(reference.lists("GET /api/rest/volume?select=id,name&name=eq.pvc-1"));
  EXPECT_FALSE(reference.lists("GET /api/rest/volume?select=id,name&name=like.pvc*"));
}

TEST(FidelityReferenceTest, QueryOrderIsFreeAndOnlyPagingKeysMayBeAdded) {
  const auto reference = rest();
  EXPECT_TRUE(reference.lists("GET /api/rest/volume?name=eq.a&select=id,name"));
  EXPECT_TRUE(reference.lists("GET /api/rest/volume?select=id,name&name=eq.a&limit=2000&offset=0"));
  EXPECT_FALSE(reference.lists("GET /api/rest/volume?select=id,name&name=eq.a&order=name"));
  EXPECT_FALSE(reference.lists("GET /api/rest/volume?select=id,name")) << "its filter is missing";
  EXPECT_FALSE(reference.lists("POST /api/rest/volume/7f3a/clone?limit=5")) << "paging is GET";
}

TEST(FidelityReferenceTest, UnlistedKeepsTheOrderOfTheRequests) {
  const auto missing = rest().unlisted(
      {"GET /api/rest/host", "POST /api/rest/volume/a/clone", "DELETE /api/rest/volume/a"});
  EXPECT_EQ(missing, (std::vector<std::string>{"GET /api/rest/host", "DELETE /api/rest/volume/a"}));
}

TEST(FidelityReferenceTest, AMissingSectionOrAnEmptyOneIsAnError) {
  EXPECT_THROW(FidelityReference::parse(kDocument, "Nothing", {}), std::runtime_error);
  EXPECT_THROW(FidelityReference::parse("## Empty\n\ntext\n", "Empty", {}), std::runtime_error);
  EXPECT_THROW(FidelityReference::load("/nonexistent/fidelity.md", "REST", {}), std::runtime_error);
}

TEST(FidelityReferenceTest, CommandsMatchWordByWordWithQuotedValuesAsOneWord) {
  FidelityReference::Options options;
  options.commands = true;
  const auto reference = FidelityReference::parse(kDocument, "CLI", options);
  EXPECT_EQ(reference.size(), 2u) << "only spans that start with '/' are commands";
  EXPECT_TRUE(reference.lists("/disk print detail where slot=pvc-1"));
  EXPECT_TRUE(reference.lists(R"(/disk print detail where slot="pvc 1 \" x")"));
  EXPECT_TRUE(reference.lists("/disk add type=file file-path=pool/a.img file-size=1G"));
  EXPECT_FALSE(reference.lists("/disk add type=file file-size=1G file-path=pool/a.img"))
      << "words keep their order";
  EXPECT_FALSE(reference.lists("/disk add type=file file-path=pool/a.img"));
  EXPECT_FALSE(reference.lists("/disk print detail where slot=pvc-1 extra=yes"));
  EXPECT_FALSE(reference.lists("/disk remove [find slot=pvc-1]"));
}

}  // namespace
}  // namespace polycsi::testing
