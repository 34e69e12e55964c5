// The host's open-iscsi, seen from a node plugin that runs in a container.
//
// The kernel initiator is driven by the host's iscsid; iscsiadm speaks iscsid's IPC, whose
// messages change between open-iscsi releases, and keeps node records in its own database. So
// the node runs the host's iscsiadm, chrooted into the host's root (mounted into the pod, e.g.
// at /host), never one from the image: the versions match, and records land in the host's
// /etc/iscsi/nodes where the host's iscsid and its boot-time logins find them. This follows
// Dell csi-powerstore (X_CSI_POWERSTORE_NODE_CHROOT_PATH=/noderoot, goiscsi's chrootDirectory)
// and kubernetes-csi/csi-driver-iscsi (`chroot /host iscsiadm`); see docs/fidelity.md.
//
// Every function here is stateless and thread-safe; none runs a shell.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace polycsi::iscsi_powerstore {

// Checks a host root setting: an absolute path of plain components (letters, digits, '.',
// '_', '-'; no "." or ".." component). Returns it without a trailing '/' ("/" stays "/").
// Throws Error(INVALID_ARGUMENT) naming `setting` and the value.
std::string validateHostRoot(const std::string& setting, const std::string& value);

// Where `hostPath` (absolute, as the host names it) is seen from here when the host's root is
// mounted at `hostRoot`. Symbolic links are followed as the host would follow them: an
// absolute link target starts again at `hostRoot`, and ".." never climbs above it. A missing
// component ends the walk (the rest is appended as is), so the result of a missing file is a
// path that does not exist. Throws Error(FAILED_PRECONDITION) after 40 links (a loop).
std::filesystem::path resolveOnHost(const std::filesystem::path& hostRoot,
                                    const std::string& hostPath);

// The host's iscsiadm as the host names it (e.g. "/usr/sbin/iscsiadm"): the first executable
// regular file among the directories open-iscsi installs it in on the distributions
// (/usr/sbin, /sbin, /usr/bin, /bin, /usr/local/sbin, /usr/local/bin), looked up under
// `hostRoot`. Throws Error(FAILED_PRECONDITION) naming `hostRoot` and the places looked at
// when the host has none (open-iscsi is not installed there).
std::string findHostIscsiadm(const std::filesystem::path& hostRoot);

// The same lookup for another program of the host (`multipathd`, `multipath`): FAILED_PRECONDITION
// "this node's host has no PROGRAM (none of ... under the host root ...): HINT".
std::string findHostProgram(const std::filesystem::path& hostRoot, const std::string& program,
                            const std::string& hint);

// The argument vector that runs `hostIscsiadm` (a host path, from findHostIscsiadm) with
// `args` in the host's root: {hostIscsiadm, args...} when `hostRoot` is "/" (the plugin runs
// on the host itself), {"chroot", hostRoot, hostIscsiadm, args...} otherwise.
std::vector<std::string> hostIscsiadmArgv(const std::filesystem::path& hostRoot,
                                          const std::string& hostIscsiadm,
                                          const std::vector<std::string>& args);
// The same for any program of the host found by findHostProgram.
inline std::vector<std::string> hostProgramArgv(const std::filesystem::path& hostRoot,
                                                const std::string& hostProgram,
                                                const std::vector<std::string>& args) {
  return hostIscsiadmArgv(hostRoot, hostProgram, args);
}

}  // namespace polycsi::iscsi_powerstore
