// Splits textual mount options ("ro", "noatime", "discard", "nouuid", ...) into the MS_* flags
// that mount(2) takes and the filesystem-specific data string, the way mount(8) does.
// Internal to core/node. THREADING: pure function.
#pragma once

#include <string>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::node {

struct KernelMountArguments {
  unsigned long flags = 0;  // MS_RDONLY, MS_NOSUID, ...
  std::string data;         // comma-separated options for the filesystem itself
};

// Options may themselves hold comma-separated lists. `readonly` adds MS_RDONLY. Options that
// would change what kind of mount this is (bind, rbind, remount, move, shared, private, loop,
// helper=, x-*/X-* ...)
// are INVALID_ARGUMENT: those are decided by the Mounter, never by a caller's option list.
// Expects options that passed validateMountOptions.
StatusOr<KernelMountArguments> toKernelMountArguments(const std::vector<std::string>& options,
                                                      bool readonly);

// The comma-joined option list for mount(8) (NFS), with "ro" appended when `readonly`.
std::string joinMountOptions(const std::vector<std::string>& options, bool readonly);

}  // namespace polycsi::node
