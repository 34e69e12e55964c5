// Checks on everything that reaches a system call or a command line from a CSI request: paths,
// device paths, filesystem types, mount options and NFS sources. Each refusal is
// INVALID_ARGUMENT with a message that names the offending value. Internal to core/node.
// THREADING: pure functions (validateDevicePath also stat()s the path).
#pragma once

#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::node {

// `path` is non-empty, absolute, at most PATH_MAX long, free of NUL and newline bytes and has
// no ".." component. `what` names the argument in the message ("target", "source", ...).
Status validateAbsolutePath(const std::string& what, const std::string& path);

// The same path with repeated slashes, "." components and a trailing slash removed, the form
// in which mountinfo lists mount points. Requires a path that passed validateAbsolutePath.
std::string normalizePath(const std::string& path);

// A valid absolute path that lies under /dev/ or names a block device.
Status validateDevicePath(const std::string& device);

// ext4, ext3 or xfs: the filesystems formatAndMount may create.
Status validateFormatFilesystemType(const std::string& fsType);

// A formattable type, nfs / nfs4, or tmpfs.
Status validateMountFilesystemType(const std::string& fsType);

// True for nfs and nfs4.
bool isNfsType(const std::string& fsType);

// True for tmpfs: memory-backed, its source is only a name.
bool isTmpfsType(const std::string& fsType);

// A tmpfs source: a name of 1 to 64 bytes of [A-Za-z0-9._-] that does not start with '-'
// (it is only a label in the mount table, but it names the mount in messages and must not look
// like an option).
Status validateTmpfsSource(const std::string& source);

// Every option is non-empty and made only of [A-Za-z0-9_.,=:/+-], but for an SELinux context
// option, whose label may be double-quoted as kubelet passes it (mount_option_list.hpp).
Status validateMountOptions(const std::vector<std::string>& options);

// "host:/absolute/path" with host a name, an IPv4 address or a bracketed IPv6 address.
Status validateNfsSource(const std::string& source);

}  // namespace polycsi::node
