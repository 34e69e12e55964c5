// The query rules of the PowerStore REST API as the simulator enforces them (query.hpp cites
// the sources): ids only without select, select lists (nested too), filters, order, paging.
#include "query.hpp"

#include <gtest/gtest.h>

#include "api_error.hpp"

namespace powerstore_sim {
namespace {

using Params = std::multimap<std::string, std::string>;

const ResourceType kType{"ip_pool_address",
                         {"id", "name", "address", "purposes", "size"},
                         {{"ip_port", {"id", "target_iqn"}}}};

std::vector<nlohmann::json> objects(int count) {
  std::vector<nlohmann::json> all;
  for (int i = 0; i < count; ++i) {
    all.push_back(
        {{"id", "ID" + std::to_string(i)},
         {"name", "Name-" + std::to_string(i)},
         {"address", "10.0.0." + std::to_string(i % 250)},
         {"purposes",
          i % 2 ? nlohmann::json{"Mgmt_Cluster_Floating"} : nlohmann::json{"Storage_Iscsi_Target"}},
         {"size", i * 8192},
         {"ip_port",
          {{"id", "P" + std::to_string(i)}, {"target_iqn", "iqn.x:" + std::to_string(i)}}}});
  }
  return all;
}

int statusOf(const std::function<void()>& call) {
  try {
    call();
  } catch (const ApiError& error) {
    EXPECT_EQ(error.body()["messages"][0]["severity"], "Error");
    return error.status();
  }
  return 0;
}

TEST(QueryTest, WithoutSelectOnlyTheIdComesBack) {
  const CollectionPage page = queryCollection(kType, objects(3), {}, "");
  ASSERT_EQ(page.body.size(), 3u);
  EXPECT_EQ(page.body[0], (nlohmann::json{{"id", "ID0"}}));
  EXPECT_EQ(queryInstance(kType, objects(1)[0], {}), (nlohmann::json{{"id", "ID0"}}));
}

TEST(QueryTest, SelectListsStarAndNestedRelations) {
  const nlohmann::json one = objects(1)[0];
  const nlohmann::json picked =
      queryInstance(kType, one, {{"select", "address, ip_port(target_iqn,id)"}});
  EXPECT_EQ(picked, (nlohmann::json{{"id", "ID0"},
                                    {"address", "10.0.0.0"},
                                    {"ip_port", {{"id", "P0"}, {"target_iqn", "iqn.x:0"}}}}));
  const nlohmann::json all = queryInstance(kType, one, {{"select", "*"}});
  EXPECT_EQ(all.size(), kType.attributes.size());
  EXPECT_FALSE(all.contains("ip_port")) << "relations come only when named";
  EXPECT_EQ(statusOf([&] { queryInstance(kType, one, {{"select", "id,port"}}); }), 400);
  EXPECT_EQ(statusOf([&] { queryInstance(kType, one, {{"select", "ip_port(port)"}}); }), 400);
  EXPECT_EQ(statusOf([&] { queryInstance(kType, one, {{"select", "ip_port(id"}}); }), 400);
  EXPECT_EQ(statusOf([&] { queryInstance(kType, one, {{"limit", "5"}}); }), 400);
}

TEST(QueryTest, FiltersKnownOperatorsCaseInsensitively) {
  const auto all = objects(10);
  auto count = [&](const Params& params) {
    return queryCollection(kType, all, params, "").body.size();
  };
  EXPECT_EQ(count({{"name", "eq.name-3"}}), 1u);
  EXPECT_EQ(count({{"name", "neq.Name-3"}}), 9u);
  EXPECT_EQ(count({{"name", "in.(Name-1,Name-2)"}}), 2u);
  EXPECT_EQ(count({{"name", "like.*-1*"}}), 1u);
  EXPECT_EQ(count({{"size", "gte.65536"}}), 2u);
  EXPECT_EQ(count({{"purposes", "cs.{Storage_Iscsi_Target}"}}), 5u);
  EXPECT_EQ(statusOf([&] { count({{"name", "regex.N.*"}}); }), 400);
  EXPECT_EQ(statusOf([&] { count({{"name", "Name-3"}}); }), 400);
  EXPECT_EQ(statusOf([&] { count({{"colour", "eq.red"}}); }), 400);
  EXPECT_EQ(statusOf([&] { count({{"order", "colour"}}); }), 400);
  EXPECT_EQ(
      queryCollection(kType, all, {{"order", "size.desc"}, {"select", "size"}}, "").body[0]["size"],
      9 * 8192);
}

// A look-up by name (gopowerstore GetVolumeByName, iscsi_powerstore's find_volume) that matches
// nothing is an empty list with 200, not an error.
TEST(QueryTest, AFilterMatchingNothingIsAnEmptyList) {
  const CollectionPage page =
      queryCollection(kType, objects(10), {{"name", "eq.pvc-none"}, {"select", "id,name"}}, "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, nlohmann::json::array());
  EXPECT_EQ(page.content_range, "");
}

TEST(QueryTest, PagesOfAHundredBy206WithContentRange) {
  const auto all = objects(250);
  CollectionPage page = queryCollection(kType, all, {}, "");
  EXPECT_EQ(page.status, 206);
  EXPECT_EQ(page.body.size(), 100u);
  EXPECT_EQ(page.content_range, "0-99/250");
  page = queryCollection(kType, all, {{"offset", "200"}}, "");
  EXPECT_EQ(page.status, 206);
  EXPECT_EQ(page.body.size(), 50u);
  EXPECT_EQ(page.body[0]["id"], "ID200");
  EXPECT_EQ(page.content_range, "200-249/250");
  page = queryCollection(kType, all, {{"limit", "250"}}, "");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body.size(), 250u);
  EXPECT_TRUE(page.content_range.empty());
  page = queryCollection(kType, all, {}, "10-19");
  EXPECT_EQ(page.status, 206);
  EXPECT_EQ(page.content_range, "10-19/250");
  EXPECT_EQ(statusOf([&] { queryCollection(kType, all, {{"limit", "0"}}, ""); }), 416);
  EXPECT_EQ(statusOf([&] { queryCollection(kType, all, {{"limit", "-5"}}, ""); }), 416);
  EXPECT_EQ(statusOf([&] { queryCollection(kType, all, {{"offset", "250"}}, ""); }), 416);
  EXPECT_EQ(statusOf([&] { queryCollection(kType, all, {{"limit", "ten"}}, ""); }), 400);
}

TEST(QueryTest, LimitAboveTwoThousandIsLowered) {
  const CollectionPage page = queryCollection(kType, objects(2100), {{"limit", "5000"}}, "");
  EXPECT_EQ(page.status, 206);
  EXPECT_EQ(page.body.size(), 2000u);
  EXPECT_EQ(page.content_range, "0-1999/2100");
}

}  // namespace
}  // namespace powerstore_sim
