#include "routeros_values.hpp"

#include <algorithm>
#include <charconv>

#include "message_text.hpp"

namespace polycsi::rds_nvme {
namespace {

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void refuse(std::string_view what, std::string_view text, std::string_view rule) {
  throw Error(Code::kInvalidArgument, std::string(what) + " " + printableForMessage(text) +
                                          " is not allowed: " + std::string(rule));
}

bool allOf(std::string_view text, bool (*pred)(char)) {
  return std::all_of(text.begin(), text.end(), pred);
}

bool isPathSegment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return allOf(s, [](char c) { return isAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = text.find(sep, start);
    out.push_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

// "nqn.YYYY-MM.domain" with a domain of [a-z0-9-] labels separated by dots.
bool isNqnPrefix(std::string_view s) {
  if (s.size() < 13 || s.substr(0, 4) != "nqn.") return false;
  std::string_view date = s.substr(4, 7);
  for (size_t i = 0; i < date.size(); ++i)
    if (i == 4 ? date[i] != '-' : !isDigit(date[i])) return false;
  if (s[11] != '.') return false;
  std::string_view domain = s.substr(12);
  for (std::string_view label : split(domain, '.'))
    if (label.empty() || label.size() > 63 ||
        !allOf(label, [](char c) { return isLowerAlnum(c) || c == '-'; }))
      return false;
  return true;
}

}  // namespace

bool isCommandSafe(std::string_view text) {
  static constexpr std::string_view kSpecial = "\"\\$[]{};`'?";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || kSpecial.find(c) != std::string_view::npos) return false;
  }
  return true;
}

bool SlotName::isValid(std::string_view text) {
  return !text.empty() && text.size() <= 63 && isAlnum(text[0]) &&
         allOf(text, [](char c) { return isAlnum(c) || c == '-'; });
}

SlotName SlotName::parse(std::string_view text, std::string_view what) {
  if (!isValid(text))
    refuse(what, text,
           "a RouterOS slot is 1-63 characters of [A-Za-z0-9-], starting with a "
           "letter or digit");
  return SlotName(std::string(text));
}

SlotPrefix SlotPrefix::parse(std::string_view text, std::string_view what) {
  if (text.empty() || text.size() > 32 || !isLowerAlnum(text[0]) ||
      !allOf(text, [](char c) { return isLowerAlnum(c) || c == '-'; }))
    refuse(what, text,
           "a slot prefix is 1-32 characters of [a-z0-9-], starting with a letter or "
           "digit");
  return SlotPrefix(std::string(text));
}

DiskPath DiskPath::parse(std::string_view text, std::string_view what) {
  static constexpr char kRule[] =
      "an RDS path is absolute, at most 255 characters, made of 1-16 segments of 1-128 "
      "characters of [A-Za-z0-9._-] (no empty, '.' or '..' segment, no trailing slash)";
  if (text.size() < 2 || text.size() > 255 || text[0] != '/') refuse(what, text, kRule);
  auto segments = split(text.substr(1), '/');
  if (segments.size() > 16) refuse(what, text, kRule);
  for (std::string_view s : segments)
    if (!isPathSegment(s)) refuse(what, text, kRule);
  return DiskPath(std::string(text));
}

DiskPath DiskPath::child(std::string_view leaf) const {
  if (!isPathSegment(leaf))
    refuse("path segment", leaf,
           "a path segment is 1-128 characters of [A-Za-z0-9._-], not '.' "
           "or '..'");
  return parse(str() + "/" + std::string(leaf), "path");
}

std::string DiskPath::firstSegment() const {
  size_t slash = str().find('/', 1);
  return str().substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
}

DiskPath DiskPath::parent() const {
  size_t slash = str().rfind('/');
  return slash == 0 ? *this : DiskPath(str().substr(0, slash));
}

std::string DiskPath::leaf() const { return str().substr(str().rfind('/') + 1); }

MountPoint MountPoint::parse(std::string_view text, std::string_view what) {
  if (!isPathSegment(text) || text.size() > 64)
    refuse(what, text, "a mount point is 1-64 characters of [A-Za-z0-9._-], not '.' or '..'");
  return MountPoint(std::string(text));
}

Nqn Nqn::parse(std::string_view text, std::string_view what) {
  static constexpr char kRule[] =
      "an NQN is nqn.YYYY-MM.<reverse domain of [a-z0-9-] labels>[:<[A-Za-z0-9._:-]+ starting "
      "with a letter or digit, without '..'>], at most 223 characters";
  if (text.size() > 223) refuse(what, text, kRule);
  size_t colon = text.find(':');
  if (!isNqnPrefix(text.substr(0, colon))) refuse(what, text, kRule);
  if (colon != std::string_view::npos) {
    std::string_view rest = text.substr(colon + 1);
    if (rest.empty() || !isAlnum(rest[0]) || rest.find("..") != std::string_view::npos ||
        !allOf(rest,
               [](char c) { return isAlnum(c) || c == '.' || c == '_' || c == ':' || c == '-'; }))
      refuse(what, text, kRule);
  }
  return Nqn(std::string(text));
}

Nqn Nqn::parsePrefix(std::string_view text, std::string_view what) {
  if (text.size() > 150 || !isNqnPrefix(text))
    refuse(what, text, "an NQN prefix is nqn.YYYY-MM.<reverse domain of [a-z0-9-] labels>");
  return Nqn(std::string(text));
}

Nqn Nqn::forSlot(const Nqn& prefix, const SlotName& slot) {
  return parse(prefix.str() + ":" + slot.str(), "subsystem NQN");
}

NqnList NqnList::parse(std::string_view text, std::string_view what) {
  NqnList list;
  if (text.empty()) return list;
  for (std::string_view item : split(text, ',')) list.add(Nqn::parse(item, what));
  return list;
}

bool NqnList::contains(const Nqn& nqn) const {
  return std::find(items_.begin(), items_.end(), nqn) != items_.end();
}

void NqnList::add(const Nqn& nqn) {
  if (contains(nqn)) return;
  items_.push_back(nqn);
  std::sort(items_.begin(), items_.end());
}

void NqnList::remove(const Nqn& nqn) {
  items_.erase(std::remove(items_.begin(), items_.end(), nqn), items_.end());
}

std::string NqnList::joined() const {
  std::string out;
  for (const auto& n : items_) out += (out.empty() ? "" : ",") + n.str();
  return out;
}

PortNumber PortNumber::parse(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || !allOf(text, isDigit) || ec != std::errc() ||
      end != text.data() + text.size())
    refuse(what, text, "a port is a number from 1 to 65535");
  return of(value, what);
}

PortNumber PortNumber::of(int port, std::string_view what) {
  if (port < 1 || port > 65535)
    refuse(what, std::to_string(port), "a port is a number from 1 to 65535");
  return PortNumber(port);
}

HostAddress HostAddress::parse(std::string_view text, std::string_view what) {
  static constexpr char kRule[] =
      "an address is an IPv4 or IPv6 address or a DNS name ([A-Za-z0-9.-] labels), at most 253 "
      "characters";
  if (text.empty() || text.size() > 253) refuse(what, text, kRule);
  bool ipv6 = text.find(':') != std::string_view::npos;
  if (ipv6) {
    if (!allOf(text, [](char c) {
          return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
                 c == '.';
        }))
      refuse(what, text, kRule);
    return HostAddress(std::string(text));
  }
  for (std::string_view label : split(text, '.'))
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
        !allOf(label, [](char c) { return isAlnum(c) || c == '-'; }))
      refuse(what, text, kRule);
  return HostAddress(std::string(text));
}

DiskSize DiskSize::roundUp(int64_t bytes) {
  if (bytes < 0 || bytes > kMaxBytes)
    throw Error(Code::kOutOfRange, "size " + std::to_string(bytes) +
                                       " bytes is outside what the RDS plugin creates (0 to " +
                                       std::to_string(kMaxBytes) + " bytes)");
  int64_t mib = (bytes + kMiB - 1) / kMiB;
  return DiskSize(std::max<int64_t>(mib, 1) * kMiB);
}

std::string DiskSize::str() const {
  if (bytes_ % kGiB == 0) return std::to_string(bytes_ / kGiB) + "G";
  return std::to_string(bytes_ / kMiB) + "M";
}

std::optional<int64_t> parseRouterOsSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Spaced digit groups: "53 687 091 200" (first group 1-3 digits, then groups of exactly 3).
  if (text.find(' ') != std::string_view::npos) {
    auto groups = split(text, ' ');
    if (groups[0].empty() || groups[0].size() > 3 || !allOf(groups[0], isDigit))
      return std::nullopt;
    std::string digits(groups[0]);
    for (size_t i = 1; i < groups.size(); ++i) {
      if (groups[i].size() != 3 || !allOf(groups[i], isDigit)) return std::nullopt;
      digits += groups[i];
    }
    if (digits.size() > 18) return std::nullopt;
    return std::stoll(digits);
  }
  size_t numberEnd = 0;
  while (numberEnd < text.size() && (isDigit(text[numberEnd]) || text[numberEnd] == '.'))
    ++numberEnd;
  std::string_view number = text.substr(0, numberEnd);
  std::string_view unit = text.substr(numberEnd);
  if (number.empty() || number.front() == '.' || number.back() == '.' ||
      std::count(number.begin(), number.end(), '.') > 1)
    return std::nullopt;
  int shift = 0;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "KiB" || unit == "K" || unit == "k")
    shift = 10;
  else if (unit == "MiB" || unit == "M")
    shift = 20;
  else if (unit == "GiB" || unit == "G")
    shift = 30;
  else if (unit == "TiB" || unit == "T")
    shift = 40;
  else if (unit == "PiB" || unit == "P")
    shift = 50;
  else
    return std::nullopt;
  size_t dot = number.find('.');
  std::string_view whole = number.substr(0, dot);
  std::string_view fraction = dot == std::string_view::npos ? "" : number.substr(dot + 1);
  // RouterOS prints one decimal; three keep fraction * unit below 2^60.
  if (whole.size() > 18 || fraction.size() > 3) return std::nullopt;
  if (shift == 0 && !fraction.empty()) return std::nullopt;
  int64_t wholeValue = std::stoll(std::string(whole));
  int64_t fractionValue = fraction.empty() ? 0 : std::stoll(std::string(fraction));
  int64_t scale = 1;
  for (size_t i = 0; i < fraction.size(); ++i) scale *= 10;
  if (wholeValue > (INT64_MAX >> shift) - 1) return std::nullopt;
  int64_t unitBytes = int64_t{1} << shift;
  int64_t fractionBytes = (fractionValue * unitBytes + scale - 1) / scale;
  return wholeValue * unitBytes + fractionBytes;
}

}  // namespace polycsi::rds_nvme
