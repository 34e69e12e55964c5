#include "host_iscsiadm.hpp"

#include <unistd.h>

#include <algorithm>

#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {
namespace {

namespace fs = std::filesystem;

// Where distributions put the host programs the node runs (iscsiadm of open-iscsi, multipathd
// and multipath of multipath-tools): /usr/sbin (Debian, Ubuntu with merged /usr, RHEL, SUSE),
// /sbin (older layouts), then the other places kubernetes-csi/csi-driver-iscsi's
// deploy/csi-iscsi-node.yaml tries for iscsiadm.
constexpr const char* kHostProgramDirs[] = {"/usr/sbin", "/sbin",           "/usr/bin",
                                            "/bin",      "/usr/local/sbin", "/usr/local/bin"};
constexpr int kMaxLinks = 40;  // as the kernel's path walk (ELOOP)

std::vector<std::string> componentsOf(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::string part =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return parts;
}

fs::path joined(const fs::path& root, const std::vector<std::string>& parts) {
  fs::path path = root;
  for (const std::string& part : parts) path /= part;
  return path;
}

}  // namespace

std::string validateHostRoot(const std::string& setting, const std::string& value) {
  auto bad = [&](const std::string& why) {
    throw Error(Code::kInvalidArgument, "setting '" + setting + "' " + why + ", got '" + value +
                                            "' (the host's root as mounted into the node pod, "
                                            "e.g. /host, or / on the host itself)");
  };
  if (value.empty() || value.front() != '/') bad("must be an absolute path");
  for (char c : value) {
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-' || c == '/';
    if (!plain) bad("may hold only letters, digits, '.', '_', '-' and '/'");
  }
  // Every component between slashes must be a name: not empty ("//"), "." or "..". A
  // trailing '/' is dropped below.
  for (std::size_t start = 1; start < value.size();) {
    std::size_t slash = value.find('/', start);
    if (slash == std::string::npos) slash = value.size();
    const std::string part = value.substr(start, slash - start);
    if (part.empty() && slash != value.size() - 1 && slash != value.size())
      bad("must not hold an empty component ('//')");
    if (part == "." || part == "..") bad("must not hold a '.' or '..' component");
    start = slash + 1;
  }
  std::string normal = value;
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

fs::path resolveOnHost(const fs::path& hostRoot, const std::string& hostPath) {
  std::vector<std::string> pending = componentsOf(hostPath);
  std::reverse(pending.begin(), pending.end());  // a stack: the next component is last
  std::vector<std::string> walked;
  int links = 0;
  while (!pending.empty()) {
    const std::string part = pending.back();
    pending.pop_back();
    if (part == "..") {
      if (!walked.empty()) walked.pop_back();  // never above the host's root
      continue;
    }
    const fs::path here = joined(hostRoot, walked) / part;
    std::error_code ec;
    const fs::file_status status = fs::symlink_status(here, ec);
    if (ec || !fs::exists(status)) {
      // Missing: the rest cannot resolve either; the result names a path that does not exist.
      walked.push_back(part);
      while (!pending.empty()) {
        walked.push_back(pending.back());
        pending.pop_back();
      }
      break;
    }
    if (!fs::is_symlink(status)) {
      walked.push_back(part);
      continue;
    }
    if (++links > kMaxLinks) {
      throw Error(Code::kFailedPrecondition, "too many symbolic links resolving " + hostPath +
                                                 " under the host root " + hostRoot.string());
    }
    const fs::path target = fs::read_symlink(here, ec);
    if (ec) {
      throw Error(Code::kFailedPrecondition,
                  "cannot read the symbolic link " + here.string() + ": " + ec.message());
    }
    // An absolute target is the host's: it starts again at the host's root, not ours.
    if (target.is_absolute()) walked.clear();
    std::vector<std::string> more = componentsOf(target.string());
    for (auto it = more.rbegin(); it != more.rend(); ++it) pending.push_back(*it);
  }
  return joined(hostRoot, walked);
}

std::string findHostIscsiadm(const fs::path& hostRoot) {
  return findHostProgram(hostRoot, "iscsiadm",
                         "install open-iscsi on the node and start iscsid, or set "
                         "iscsi_host_root to where the host's / is mounted");
}

std::string findHostProgram(const fs::path& hostRoot, const std::string& program,
                            const std::string& hint) {
  std::error_code ec;
  if (!fs::is_directory(hostRoot, ec)) {
    throw Error(Code::kFailedPrecondition,
                "the host root " + hostRoot.string() +
                    " (setting iscsi_host_root) is not a directory: mount the host's / there "
                    "(hostPath /, as deploy/overlays/powerstore-iscsi/node-iscsi.yaml does)");
  }
  std::string looked;
  for (const char* dir : kHostProgramDirs) {
    const std::string candidate = std::string(dir) + "/" + program;
    const fs::path seen = resolveOnHost(hostRoot, candidate);
    if (fs::is_regular_file(seen, ec) && ::access(seen.c_str(), X_OK) == 0) return candidate;
    looked += (looked.empty() ? "" : ", ") + candidate;
  }
  throw Error(Code::kFailedPrecondition, "this node's host has no " + program + " (none of " +
                                             looked + " under the host root " + hostRoot.string() +
                                             "): " + hint);
}

std::vector<std::string> hostIscsiadmArgv(const fs::path& hostRoot, const std::string& hostIscsiadm,
                                          const std::vector<std::string>& args) {
  std::vector<std::string> argv;
  // chroot(8) with an argument vector: no shell, and nothing from the image but chroot itself.
  if (hostRoot != "/") argv = {"chroot", hostRoot.string()};
  argv.push_back(hostIscsiadm);
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace polycsi::iscsi_powerstore
