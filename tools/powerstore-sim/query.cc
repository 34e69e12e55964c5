#include "query.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api_error.hpp"

namespace powerstore_sim {
namespace {

constexpr std::size_t kDefaultLimit = 100;  // Developers Guide, "Pagination"
constexpr std::size_t kMaxLimit = 2000;

[[noreturn]] void badRequest(const std::string& message, const std::string& argument) {
  throw ApiError(400, kCodeBadRequest, message, {argument});
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string trim(const std::string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && text[begin] == ' ') ++begin;
  while (end > begin && text[end - 1] == ' ') --end;
  return text.substr(begin, end - begin);
}

// Splits at commas outside parentheses: "a,b(c,d)" -> "a", "b(c,d)".
std::vector<std::string> splitTopLevel(const std::string& text, const std::string& what) {
  std::vector<std::string> parts;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) badRequest("Unbalanced parentheses in " + what, text);
    if (c == ',' && depth == 0) {
      parts.push_back(trim(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (depth != 0) badRequest("Unbalanced parentheses in " + what, text);
  parts.push_back(trim(current));
  return parts;
}

std::optional<std::string> param(const std::multimap<std::string, std::string>& params,
                                 const std::string& name) {
  const auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

long long integer(const std::string& text, const std::string& name) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    badRequest("The parameter " + name + " must be an integer, got '" + text + "'.", name);
  }
  return value;
}

// The value of `attribute` ("a" or "a->>b") in `full`, or null.
nlohmann::json valueOf(const nlohmann::json& full, const std::string& attribute) {
  const std::size_t arrow = attribute.find("->>");
  if (arrow == std::string::npos) return full.value(attribute, nlohmann::json());
  const nlohmann::json outer = full.value(attribute.substr(0, arrow), nlohmann::json());
  if (!outer.is_object()) return nullptr;
  return outer.value(attribute.substr(arrow + 3), nlohmann::json());
}

std::string text(const nlohmann::json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// `like` with '*' as the wildcard (the guide's examples), case insensitive.
bool like(const std::string& value, const std::string& pattern) {
  const std::string v = lower(value);
  const std::string p = lower(pattern);
  std::size_t vi = 0, pi = 0, star = std::string::npos, mark = 0;
  while (vi < v.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = vi;
    } else if (pi < p.size() && p[pi] == v[vi]) {
      ++pi;
      ++vi;
    } else if (star != std::string::npos) {
      pi = star + 1;
      vi = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// Compares as numbers when both are numbers, else as lower-case strings.
int compare(const nlohmann::json& value, const std::string& operand) {
  if (value.is_number()) {
    char* end = nullptr;
    const double number = std::strtod(operand.c_str(), &end);
    if (end && *end == '\0' && !operand.empty()) {
      const double mine = value.get<double>();
      return mine < number ? -1 : (mine > number ? 1 : 0);
    }
  }
  const std::string mine = lower(text(value));
  const std::string theirs = lower(operand);
  return mine < theirs ? -1 : (mine > theirs ? 1 : 0);
}

// "(a,b)" or "{a,b}" -> {a, b}.
std::vector<std::string> listOperand(const std::string& operand, char open, char close,
                                     const std::string& attribute) {
  if (operand.size() < 2 || operand.front() != open || operand.back() != close) {
    badRequest("The filter on " + attribute + " wants a list " + std::string(1, open) + "..." +
                   std::string(1, close) + ", got '" + operand + "'.",
               attribute);
  }
  std::vector<std::string> items;
  std::string current;
  for (char c : operand.substr(1, operand.size() - 2)) {
    if (c == ',') {
      items.push_back(trim(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  items.push_back(trim(current));
  return items;
}

bool passes(const Filter& f, const nlohmann::json& full) {
  const nlohmann::json value = valueOf(full, f.attribute);
  if (f.op == "eq") return !value.is_null() && compare(value, f.value) == 0;
  if (f.op == "neq") return value.is_null() || compare(value, f.value) != 0;
  if (f.op == "gt") return !value.is_null() && compare(value, f.value) > 0;
  if (f.op == "gte") return !value.is_null() && compare(value, f.value) >= 0;
  if (f.op == "lt") return !value.is_null() && compare(value, f.value) < 0;
  if (f.op == "lte") return !value.is_null() && compare(value, f.value) <= 0;
  if (f.op == "like") return !value.is_null() && like(text(value), f.value);
  if (f.op == "in") {
    for (const std::string& item : listOperand(f.value, '(', ')', f.attribute))
      if (!value.is_null() && compare(value, item) == 0) return true;
    return false;
  }
  // cs: an array attribute contains every listed element.
  if (!value.is_array()) return false;
  for (const std::string& item : listOperand(f.value, '{', '}', f.attribute)) {
    const bool found = std::any_of(value.begin(), value.end(),
                                   [&](const nlohmann::json& e) { return compare(e, item) == 0; });
    if (!found) return false;
  }
  return true;
}

}  // namespace

Selection parseSelect(const ResourceType& type, const std::optional<std::string>& select) {
  Selection selection;
  selection.attributes.insert("id");
  if (!select) return selection;  // the id only
  for (const std::string& item : splitTopLevel(*select, "select")) {
    if (item == "*") {
      selection.attributes.insert(type.attributes.begin(), type.attributes.end());
      continue;
    }
    const std::size_t open = item.find('(');
    if (open == std::string::npos) {
      if (type.attributes.count(item) == 0 && type.relations.count(item) == 0) {
        badRequest("Invalid select attribute '" + item + "' for type " + type.name + ".", item);
      }
      if (type.relations.count(item)) {
        selection.relations[item].insert("id");
      } else {
        selection.attributes.insert(item);
      }
      continue;
    }
    const std::string relation = trim(item.substr(0, open));
    const auto related = type.relations.find(relation);
    if (related == type.relations.end() || item.back() != ')') {
      badRequest("Invalid select attribute '" + item + "' for type " + type.name + ".", item);
    }
    std::set<std::string>& wanted = selection.relations[relation];
    for (const std::string& inner :
         splitTopLevel(item.substr(open + 1, item.size() - open - 2), "select")) {
      if (inner == "*") {
        wanted.insert(related->second.begin(), related->second.end());
      } else if (related->second.count(inner) == 0) {
        badRequest("Invalid select attribute '" + inner + "' for " + relation + " of type " +
                       type.name + ".",
                   inner);
      } else {
        wanted.insert(inner);
      }
    }
  }
  return selection;
}

nlohmann::json project(const Selection& selection, const nlohmann::json& full) {
  nlohmann::json out = nlohmann::json::object();
  for (const std::string& attribute : selection.attributes) {
    out[attribute] = full.value(attribute, nlohmann::json());
  }
  auto projectOne = [](const std::set<std::string>& attributes, const nlohmann::json& related) {
    nlohmann::json inner = nlohmann::json::object();
    for (const std::string& attribute : attributes)
      inner[attribute] = related.value(attribute, nlohmann::json());
    return inner;
  };
  for (const auto& [relation, attributes] : selection.relations) {
    const nlohmann::json related = full.value(relation, nlohmann::json());
    if (related.is_array()) {
      // A to-many relation (a volume group's `volumes`, a volume's `volume_groups`): a list.
      nlohmann::json list = nlohmann::json::array();
      for (const auto& item : related) list.push_back(projectOne(attributes, item));
      out[relation] = list;
    } else if (related.is_object()) {
      out[relation] = projectOne(attributes, related);
    } else {
      out[relation] = nullptr;
    }
  }
  return out;
}

std::vector<Filter> parseFilters(const ResourceType& type,
                                 const std::multimap<std::string, std::string>& params) {
  static const std::set<std::string> kReserved = {"select", "order", "limit", "offset"};
  // The operators this simulator implements; the array knows more, the plugin uses eq and cs.
  static const std::set<std::string> kOperators = {"eq",  "neq",  "gt", "gte", "lt",
                                                   "lte", "like", "in", "cs"};
  std::vector<Filter> filters;
  for (const auto& [name, value] : params) {
    if (kReserved.count(name)) continue;
    const std::size_t arrow = name.find("->>");
    const std::string base = arrow == std::string::npos ? name : name.substr(0, arrow);
    if (type.attributes.count(base) == 0) {
      badRequest("Invalid filter attribute '" + name + "' for type " + type.name + ".", name);
    }
    const std::size_t dot = value.find('.');
    if (dot == std::string::npos) {
      badRequest("The filter " + name + "=" + value + " lacks an operator (like eq.VALUE).", name);
    }
    const std::string op = value.substr(0, dot);
    if (kOperators.count(op) == 0) {
      badRequest("Unknown filter operator '" + op + "' in " + name + "=" + value + ".", op);
    }
    filters.push_back({name, op, value.substr(dot + 1)});
  }
  return filters;
}

bool matches(const std::vector<Filter>& filters, const nlohmann::json& full) {
  return std::all_of(filters.begin(), filters.end(),
                     [&](const Filter& f) { return passes(f, full); });
}

CollectionPage queryCollection(const ResourceType& type, const std::vector<nlohmann::json>& all,
                               const std::multimap<std::string, std::string>& params,
                               const std::string& range_header) {
  const Selection selection = parseSelect(type, param(params, "select"));
  const std::vector<Filter> filters = parseFilters(type, params);

  std::vector<const nlohmann::json*> kept;
  for (const nlohmann::json& item : all)
    if (matches(filters, item)) kept.push_back(&item);
  if (const auto order = param(params, "order")) {
    std::string attribute = *order;
    bool descending = false;
    if (const std::size_t dot = attribute.rfind('.'); dot != std::string::npos) {
      const std::string direction = lower(attribute.substr(dot + 1));
      if (direction != "asc" && direction != "desc") {
        badRequest("Invalid order '" + *order + "'.", *order);
      }
      descending = direction == "desc";
      attribute = attribute.substr(0, dot);
    }
    if (type.attributes.count(attribute) == 0) {
      badRequest("Invalid order attribute '" + attribute + "' for type " + type.name + ".",
                 attribute);
    }
    std::stable_sort(kept.begin(), kept.end(),
                     [&](const nlohmann::json* a, const nlohmann::json* b) {
                       const int c = compare(valueOf(*a, attribute), text(valueOf(*b, attribute)));
                       return descending ? c > 0 : c < 0;
                     });
  }

  long long offset = 0;
  long long limit = static_cast<long long>(kDefaultLimit);
  if (const auto text = param(params, "limit")) limit = integer(*text, "limit");
  if (const auto text = param(params, "offset")) offset = integer(*text, "offset");
  if (!range_header.empty()) {
    // "first-last", zero-based and inclusive.
    const std::size_t dash = range_header.find('-');
    if (dash == std::string::npos) {
      throw ApiError(416, kCodeRange, "Invalid Range header '" + range_header + "'.",
                     {range_header});
    }
    offset = integer(range_header.substr(0, dash), "Range");
    limit = integer(range_header.substr(dash + 1), "Range") - offset + 1;
  }
  if (limit <= 0) {
    throw ApiError(416, kCodeRange,
                   "The limit must be at least 1, got " + std::to_string(limit) + ".",
                   {std::to_string(limit)});
  }
  if (offset < 0) badRequest("The offset must not be negative.", std::to_string(offset));
  limit = std::min<long long>(limit, static_cast<long long>(kMaxLimit));
  const auto total = static_cast<long long>(kept.size());
  if (offset > 0 && offset >= total) {
    throw ApiError(416, kCodeRange,
                   "The offset " + std::to_string(offset) + " is past the end of the " +
                       std::to_string(total) + " " + type.name + " instances.",
                   {std::to_string(offset)});
  }
  CollectionPage page;
  page.body = nlohmann::json::array();
  const long long end = std::min(total, offset + limit);
  for (long long i = offset; i < end; ++i)
    page.body.push_back(project(selection, *kept[static_cast<std::size_t>(i)]));
  if (offset > 0 || end < total) {
    page.status = 206;
    page.content_range =
        std::to_string(offset) + "-" + std::to_string(end - 1) + "/" + std::to_string(total);
  }
  return page;
}

nlohmann::json queryInstance(const ResourceType& type, const nlohmann::json& full,
                             const std::multimap<std::string, std::string>& params) {
  for (const auto& [name, value] : params) {
    if (name != "select") {
      badRequest("The parameter '" + name + "' does not apply to an instance query.", name);
    }
  }
  return project(parseSelect(type, param(params, "select")), full);
}

}  // namespace powerstore_sim
