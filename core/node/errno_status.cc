#include "node/errno_status.hpp"

#include <cerrno>
#include <system_error>

namespace polycsi::node {

Status statusFromErrno(int err, const std::string& what) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT:
      code = Code::kNotFound;
      break;
    case EPERM:
    case EACCES:
      code = Code::kPermissionDenied;
      break;
    case EBUSY:
      code = Code::kFailedPrecondition;
      break;
    case ETIMEDOUT:
      code = Code::kDeadlineExceeded;
      break;
    default:
      break;
  }
  return Status(code, what + ": " + std::generic_category().message(err));
}

}  // namespace polycsi::node
