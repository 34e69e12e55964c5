#include "node/mount_targets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "node/errno_status.hpp"

namespace polycsi::node {
namespace {

Status createDirectories(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) return statusFromErrno(error.value(), "cannot create directory " + path.string());
  return Status::ok();
}

}  // namespace

Status ensureDirectoryTarget(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return Status::ok();
    return Status(Code::kFailedPrecondition,
                  "mount target " + path + " exists and is not a directory");
  }
  if (errno != ENOENT) return statusFromErrno(errno, "cannot stat mount target " + path);
  return createDirectories(path);
}

Status ensureEmptyFileTarget(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (Status status = createDirectories(parent); !status.isOk()) return status;
  // O_NONBLOCK: opening an existing FIFO for writing must not hang; it is refused below.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640);
  if (fd < 0) {
    if (errno == EISDIR || errno == ELOOP || errno == ENXIO) {
      return Status(Code::kFailedPrecondition,
                    "block mount target " + path + " exists and is not a regular file");
    }
    return statusFromErrno(errno, "cannot create block mount target " + path);
  }
  struct stat info {};
  int statResult = ::fstat(fd, &info);
  int statErrno = errno;
  ::close(fd);
  if (statResult != 0) return statusFromErrno(statErrno, "cannot stat block mount target " + path);
  if (!S_ISREG(info.st_mode)) {
    return Status(Code::kFailedPrecondition,
                  "block mount target " + path + " exists and is not a regular file");
  }
  if (info.st_size != 0) {
    return Status(Code::kFailedPrecondition,
                  "block mount target " + path + " is a non-empty file; refusing to hide it");
  }
  return Status::ok();
}

}  // namespace polycsi::node
