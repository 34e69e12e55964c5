// The query language of the PowerStore REST API as the simulator enforces it: `select`,
// filters, `order` and paging. Sources (facts only, nothing copied):
// - Dell, "PowerStore REST API Developers Guide", chapter "REST request components",
//   "Request parameters": without `select` a query returns the `id` attribute only; filters
//   are `attribute=operator.value` and case insensitive; `order=attribute[.asc|.desc]`.
// - Same guide, "Querying a resource", "Pagination": default limit 100, 1..2000 (a larger
//   limit is lowered to 2000, 0 or less answers 416 Range Not Satisfiable), `offset`, or a
//   `Range: first-last` header; a partial collection answers 206 with
//   `Content-Range: first-last/total`.
// - dell/gopowerstore api/api.go (updatePaginationInfoInMeta: reads Content-Range of a 206),
//   client.go (readPaginatedData: next offset = last + 1 until total), ip_pool_address_types.go
//   (nested select `ip_port(target_iqn, id)`), ip_pool_address.go (filter
//   `purposes=cs.{Storage_Iscsi_Target}`), volume.go GetVolumeByName (`volume?name=eq.<name>`
//   answers a list: 200 with no element when no volume has the name, which the client turns
//   into its own not-found; never a 404 for a collection).
// Pure functions over JSON; thread-safe; every rejection throws ApiError with Dell's body.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace powerstore_sim {

// What a resource type defines. A full object (as the store renders it) holds every
// attribute, and each relation's object under the relation's name.
struct ResourceType {
  std::string name;                  // "volume", for messages
  std::set<std::string> attributes;  // returned by `select=*` (embedded objects included)
  // Related types reachable with `select=relation(a,b)`, each with its attributes.
  std::map<std::string, std::set<std::string>> relations;
};

// The attributes a `select` asks for.
struct Selection {
  std::set<std::string> attributes;
  std::map<std::string, std::set<std::string>> relations;
};

// Parses `select` (absent: the id only; `*`: every attribute). 400 naming the first attribute
// the type does not define, or a malformed list.
Selection parseSelect(const ResourceType& type, const std::optional<std::string>& select);
// `full` reduced to `selection`.
nlohmann::json project(const Selection& selection, const nlohmann::json& full);

struct Filter {
  std::string attribute;  // "name", or "embedded->>attribute"
  std::string op;         // eq, neq, gt, gte, lt, lte, like, in, cs
  std::string value;
};

// The filters among `params` (every parameter but select, order, limit, offset). 400 for an
// attribute the type does not define, a value without `operator.`, or an operator the
// simulator does not know.
std::vector<Filter> parseFilters(const ResourceType& type,
                                 const std::multimap<std::string, std::string>& params);
// True when `full` passes every filter (string comparisons ignore case).
bool matches(const std::vector<Filter>& filters, const nlohmann::json& full);

// One answer to a collection query.
struct CollectionPage {
  int status = 200;           // 200, or 206 when the page is not the whole collection
  nlohmann::json body;        // the page's projected objects
  std::string content_range;  // "first-last/total" with 206
};

// Filters, orders, pages and projects `all` (full objects) for a collection GET with
// `params` and the request's `range_header` (may be empty). 400/416 as described above.
CollectionPage queryCollection(const ResourceType& type, const std::vector<nlohmann::json>& all,
                               const std::multimap<std::string, std::string>& params,
                               const std::string& range_header);

// Projects one full object for an instance GET (`select` only; no filters or paging).
nlohmann::json queryInstance(const ResourceType& type, const nlohmann::json& full,
                             const std::multimap<std::string, std::string>& params);

}  // namespace powerstore_sim
