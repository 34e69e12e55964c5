#include "file_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace polycsi::sample {

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Error errnoError(Code code, const std::string& what, int err) {
  return Error(code, what + ": " + std::strerror(err));
}

UniqueFd openFile(const std::filesystem::path& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) {
    int err = errno;
    Code code = (err == ENOENT && (flags & O_CREAT) == 0) ? Code::kNotFound : Code::kInternal;
    throw errnoError(code, "cannot open " + path.string(), err);
  }
  return UniqueFd(fd);
}

void syncFd(int fd, const std::string& what) {
  if (::fsync(fd) != 0) throw errnoError(Code::kInternal, "cannot fsync " + what, errno);
}

void syncDirectory(const std::filesystem::path& dir) {
  UniqueFd fd = openFile(dir, O_RDONLY | O_DIRECTORY);
  syncFd(fd.get(), dir.string());
}

void writeFileAtomically(const std::filesystem::path& path, std::string_view content,
                         const PublishStep& publish) {
  std::filesystem::path partial = path;
  partial += ".partial";
  {
    UniqueFd fd = openFile(partial, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw errnoError(Code::kInternal, "cannot write " + partial.string(), errno);
      }
      done += static_cast<size_t>(n);
    }
    syncFd(fd.get(), partial.string());
  }
  const auto rename = [&] {
    if (::rename(partial.c_str(), path.c_str()) != 0)
      throw errnoError(Code::kInternal,
                       "cannot rename " + partial.string() + " to " + path.string(), errno);
  };
  if (publish) {
    publish(rename);
  } else {
    rename();
  }
  syncDirectory(path.parent_path());
}

namespace {

std::string readAll(const UniqueFd& fd, const std::filesystem::path& path) {
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw errnoError(Code::kInternal, "cannot read " + path.string(), errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

}  // namespace

std::string readWholeFile(const std::filesystem::path& path) {
  return readAll(openFile(path, O_RDONLY), path);
}

std::optional<std::string> readFileIfPresent(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw errnoError(Code::kInternal, "cannot open " + path.string(), errno);
  }
  return readAll(UniqueFd(fd), path);
}

bool removeIfPresent(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  throw errnoError(Code::kInternal, "cannot remove " + path.string(), errno);
}

}  // namespace polycsi::sample
