#include "node/input_validation.hpp"

#include <limits.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "node/mount_option_list.hpp"

namespace polycsi::node {
namespace {

constexpr std::array<std::string_view, 3> kFormatTypes = {"ext4", "ext3", "xfs"};
constexpr std::array<std::string_view, 2> kNfsTypes = {"nfs", "nfs4"};
constexpr std::string_view kTmpfsType = "tmpfs";
constexpr size_t kMaxTmpfsSourceLength = 64;

Status invalid(const std::string& message) { return Status(Code::kInvalidArgument, message); }

// Quotes a value for an error message without letting control bytes through.
std::string quoted(const std::string& value) {
  std::string text = "\"";
  for (char c : value.substr(0, 256)) {
    unsigned char byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      text += "\\x";
      text += kHex[byte >> 4];
      text += kHex[byte & 0xf];
    } else {
      text += c;
    }
  }
  if (value.size() > 256) text += "...";
  return text + "\"";
}

bool hasDotDotComponent(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

bool isOptionCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("_.,=:/+-").find(c) != std::string_view::npos;
}

bool isHostCharacter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool isIpv6Character(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

}  // namespace

Status validateAbsolutePath(const std::string& what, const std::string& path) {
  if (path.empty()) return invalid(what + " path is empty");
  if (path.find('\0') != std::string::npos) return invalid(what + " path contains a NUL byte");
  if (path.find('\n') != std::string::npos) {
    return invalid(what + " path " + quoted(path) + " contains a newline");
  }
  if (path.front() != '/') return invalid(what + " path " + quoted(path) + " is not absolute");
  if (path.size() >= PATH_MAX) return invalid(what + " path is longer than PATH_MAX");
  if (hasDotDotComponent(path)) {
    return invalid(what + " path " + quoted(path) + " contains a \"..\" component");
  }
  return Status::ok();
}

std::string normalizePath(const std::string& path) {
  std::string normalized;
  size_t start = 0;
  while (start < path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string_view component(path.data() + start, end - start);
    if (!component.empty() && component != ".") {
      normalized += '/';
      normalized += component;
    }
    start = end + 1;
  }
  return normalized.empty() ? "/" : normalized;
}

Status validateDevicePath(const std::string& device) {
  if (Status status = validateAbsolutePath("device", device); !status.isOk()) return status;
  if (normalizePath(device).rfind("/dev/", 0) == 0) return Status::ok();
  struct stat info {};
  if (::stat(device.c_str(), &info) == 0 && S_ISBLK(info.st_mode)) return Status::ok();
  return invalid("device " + quoted(device) + " is neither under /dev nor a block device");
}

Status validateFormatFilesystemType(const std::string& fsType) {
  if (std::find(kFormatTypes.begin(), kFormatTypes.end(), fsType) != kFormatTypes.end()) {
    return Status::ok();
  }
  return invalid("filesystem type " + quoted(fsType) +
                 " is not supported for formatting (supported: ext4, ext3, xfs)");
}

Status validateMountFilesystemType(const std::string& fsType) {
  if (isNfsType(fsType) || isTmpfsType(fsType) ||
      std::find(kFormatTypes.begin(), kFormatTypes.end(), fsType) != kFormatTypes.end()) {
    return Status::ok();
  }
  return invalid("filesystem type " + quoted(fsType) +
                 " is not supported for mounting (supported: ext4, ext3, xfs, nfs, nfs4, tmpfs)");
}

bool isTmpfsType(const std::string& fsType) { return fsType == kTmpfsType; }

Status validateTmpfsSource(const std::string& source) {
  if (source.empty() || source.size() > kMaxTmpfsSourceLength || source.front() == '-' ||
      !std::all_of(source.begin(), source.end(), isHostCharacter)) {
    return invalid("tmpfs source " + quoted(source) +
                   " must be 1 to 64 characters of [A-Za-z0-9._-], not starting with '-'");
  }
  return Status::ok();
}

bool isNfsType(const std::string& fsType) {
  return std::find(kNfsTypes.begin(), kNfsTypes.end(), fsType) != kNfsTypes.end();
}

namespace {

// An SELinux label as kubelet quotes it: the value of a context option between double quotes,
// made of the characters of a label ("user:role:type:s0:c1,c2", ranges "s0-s0:c0.c1023").
bool isQuotedSelinuxLabel(std::string_view option) {
  std::string_view value = option.substr(option.find('=') + 1);
  if (value.size() < 3 || value.front() != '"' || value.back() != '"') return false;
  value = value.substr(1, value.size() - 2);
  return std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("_.:,-").find(c) != std::string_view::npos;
  });
}

}  // namespace

Status validateMountOptions(const std::vector<std::string>& options) {
  for (const std::string& option : options) {
    if (option.empty()) return invalid("mount option is empty");
    for (std::string_view single : splitMountOptionList(option)) {
      if (single.find('"') != std::string_view::npos) {
        if (isSelinuxContextOption(single) && isQuotedSelinuxLabel(single)) continue;
        return invalid("mount option " + quoted(std::string(single)) +
                       ": double quotes are allowed only around an SELinux label "
                       "(context=\"user:role:type:level\")");
      }
      if (!std::all_of(single.begin(), single.end(), isOptionCharacter)) {
        return invalid("mount option " + quoted(option) +
                       " contains a character outside [A-Za-z0-9_.,=:/+-]");
      }
    }
  }
  return Status::ok();
}

Status validateNfsSource(const std::string& source) {
  size_t pathStart = std::string::npos;
  std::string_view host;
  if (!source.empty() && source.front() == '[') {
    size_t close = source.find(']');
    if (close == std::string::npos || close + 1 >= source.size() || source[close + 1] != ':') {
      return invalid("NFS source " + quoted(source) + " must look like [ipv6]:/path");
    }
    host = std::string_view(source).substr(1, close - 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), isIpv6Character)) {
      return invalid("NFS source " + quoted(source) + " has an invalid IPv6 address");
    }
    pathStart = close + 2;
  } else {
    size_t colon = source.find(':');
    if (colon == std::string::npos) {
      return invalid("NFS source " + quoted(source) + " must look like host:/path");
    }
    host = std::string_view(source).substr(0, colon);
    if (host.empty() || host.front() == '-' ||
        !std::all_of(host.begin(), host.end(), isHostCharacter)) {
      return invalid("NFS source " + quoted(source) + " has an invalid host name");
    }
    pathStart = colon + 1;
  }
  return validateAbsolutePath("NFS export", source.substr(pathStart));
}

}  // namespace polycsi::node
