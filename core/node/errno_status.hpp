// Turns a failed system call's errno into a Status whose code a caller can act on.
// Internal to core/node. THREADING: pure function.
#pragma once

#include <string>

#include "polycsi/types.hpp"

namespace polycsi::node {

// "<what>: <strerror(err)>" with a code chosen from err: ENOENT → NOT_FOUND, EPERM/EACCES →
// PERMISSION_DENIED, EBUSY → FAILED_PRECONDITION, ETIMEDOUT → DEADLINE_EXCEEDED, everything
// else → INTERNAL.
Status statusFromErrno(int err, const std::string& what);

}  // namespace polycsi::node
