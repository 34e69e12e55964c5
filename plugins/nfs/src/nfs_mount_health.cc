#include "nfs_mount_health.hpp"

#include <cstring>
#include <sstream>
#include <vector>

namespace polycsi::nfs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c mangle).
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      const std::string digits = field.substr(i + 1, 3);
      if (digits.size() == 3 && digits.find_first_not_of("01234567") == std::string::npos) {
        out += static_cast<char>(std::stoi(digits, nullptr, 8));
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

}  // namespace

std::optional<MountEntry> findMount(const std::string& mountinfo, const std::string& mountPoint) {
  std::optional<MountEntry> found;
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string f; fields >> f;) parts.push_back(f);
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    if (parts.size() < 10) continue;
    size_t dash = 6;
    while (dash < parts.size() && parts[dash] != "-") ++dash;
    if (dash + 2 >= parts.size()) continue;
    if (unescape(parts[4]) != mountPoint) continue;
    found = MountEntry{mountPoint, parts[dash + 1], unescape(parts[dash + 2])};
  }
  return found;
}

VolumeCondition nfsMountCondition(const std::string& stagingPath, const std::string& mountinfo,
                                  BoundedStat& probe, std::chrono::milliseconds timeout) {
  const auto mount = findMount(mountinfo, stagingPath);
  if (!mount)
    return {true, "nothing is mounted at the staging path " + stagingPath +
                      " (unmounted behind the driver's back?); restage the volume"};
  if (mount->fsType != "nfs" && mount->fsType != "nfs4")
    return {true, "the staging path " + stagingPath + " holds a " + mount->fsType + " mount of " +
                      mount->source + ", not the volume's NFS export"};
  const BoundedStat::Result r = probe.probe(stagingPath, timeout);
  if (r.kind == BoundedStat::Result::Kind::kTimedOut)
    return {true, "the NFS mount of " + mount->source + " at " + stagingPath +
                      " does not answer within " + std::to_string(timeout.count()) +
                      " ms: the server does not respond"};
  if (r.kind == BoundedStat::Result::Kind::kFailed)
    return {true, "the NFS mount of " + mount->source + " at " + stagingPath +
                      " fails: " + std::strerror(r.error) +
                      (r.error == ESTALE ? " (stale file handle: the server no longer has the "
                                           "directory; restage the volume once it is back)"
                                         : "")};
  return {false, "the NFS mount of " + mount->source + " at " + stagingPath + " answers"};
}

}  // namespace polycsi::nfs
