// Creating the places things get mounted on: a directory for filesystems and directory binds,
// an empty regular file for raw block binds. Internal to core/node.
// IDEMPOTENCY: an existing target of the right kind is accepted as is.
// THREADING: safe concurrently for different paths.
#pragma once

#include <string>

#include "polycsi/types.hpp"

namespace polycsi::node {

// Creates `path` and its missing parents as directories. FAILED_PRECONDITION when `path`
// exists and is not a directory.
Status ensureDirectoryTarget(const std::string& path);

// Creates `path` (O_CREAT, never following a symlink) as an empty regular file, and its missing
// parent directories. FAILED_PRECONDITION when it exists as anything else or is not empty, since
// mounting over it would hide what it holds.
Status ensureEmptyFileTarget(const std::string& path);

}  // namespace polycsi::node
