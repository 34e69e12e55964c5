// Splitting a mount option string ("a,b=c,context=\"x:y:s0:c1,c2\"") into its options.
//
// A comma separates options except inside double quotes: kubelet passes an SELinux label as
// context="system_u:object_r:container_file_t:s0:c10,c0" (KEP-1710, CSIDriver seLinuxMount),
// whose category list holds a comma. The kernel's SELinux option parser reads the quotes the
// same way, so the quoted value is kept whole, quotes included. Internal to core/node.
// THREADING: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace polycsi::node {

// The options of `list`, empty ones included ("a,,b" gives "a", "", "b"). An unclosed quote
// runs to the end of the string (validateMountOptions refuses it before anything mounts).
std::vector<std::string_view> splitMountOptionList(std::string_view list);

// Whether `option` sets an SELinux label: context=, fscontext=, defcontext= or rootcontext=
// (mount(8), "Mount options for SELinux").
bool isSelinuxContextOption(std::string_view option);

// `options` for an NFS mount, with `nosharecache` added when they set an SELinux label: an
// export mounted twice on one node shares one superblock, and so one label, unless the client
// is told not to. A CSI driver announcing seLinuxMount must add it (KEP-1710, "CSIDriver
// examples").
std::vector<std::string> withNfsSelinuxSharing(std::vector<std::string> options);

}  // namespace polycsi::node
