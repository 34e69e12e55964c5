#include "nvme_paths.hpp"

#include <algorithm>
#include <cctype>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool contains(const std::vector<HostAddress>& list, const std::string& address) {
  return std::any_of(list.begin(), list.end(),
                     [&](const HostAddress& a) { return lower(a.str()) == lower(address); });
}

}  // namespace

std::vector<HostAddress> parseNvmeAddressList(std::string_view text, std::string_view what) {
  const std::string where(what);
  std::vector<HostAddress> out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view item =
        trimmed(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (item.empty())
      throw Error(Code::kInvalidArgument,
                  where +
                      " must be a comma-separated list of addresses without empty entries, "
                      "got " +
                      printableForMessage(std::string(text)));
    HostAddress address =
        HostAddress::parse(item, where + " entry " + std::to_string(out.size() + 1));
    if (contains(out, address.str()))
      throw Error(Code::kInvalidArgument,
                  where + " lists " + address.str() + " twice; each path is one address");
    out.push_back(std::move(address));
    if (out.size() > kMaxNvmePaths)
      throw Error(Code::kInvalidArgument,
                  where + " lists more than " + std::to_string(kMaxNvmePaths) + " addresses");
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string joinNvmeAddresses(const std::vector<HostAddress>& addresses) {
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : ",") + a.str();
  return out;
}

std::vector<HostAddress> publishedNvmeAddresses(const StringMap& volumeContext,
                                                const std::vector<HostAddress>& configured) {
  auto it = volumeContext.find("nvmeAddress");
  if (it == volumeContext.end() || contains(configured, it->second)) return configured;
  return {HostAddress::parse(it->second, "volume context nvmeAddress")};
}

std::vector<HostAddress> nodeNvmeAddresses(const StringMap& volumeContext,
                                           const StringMap& publishContext,
                                           const std::string& volumeId) {
  if (auto it = publishContext.find(kNvmeAddressesKey); it != publishContext.end())
    return parseNvmeAddressList(it->second, "publish context nvmeAddresses");
  auto it = volumeContext.find("nvmeAddress");
  if (it == volumeContext.end() || it->second.empty())
    throw Error(Code::kInvalidArgument,
                "the volume context of " + volumeId +
                    " has no 'nvmeAddress' (rds_nvme's CreateVolume puts nqn, nvmeAddress and "
                    "nvmePort there) and its publish context no 'nvmeAddresses'");
  return {HostAddress::parse(it->second, "volume context nvmeAddress")};
}

}  // namespace polycsi::rds_nvme
