#include "sparse_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace rds_sim {
namespace {

[[noreturn]] void throwErrno(const std::string& what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path.string());
}

// Closes a descriptor on scope exit.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

int createExclusive(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throwErrno("create", path);
  return fd;
}

void copyRange(int in, int out, off_t start, off_t end, const std::filesystem::path& source) {
  std::vector<char> buffer(1 << 20);
  off_t offset = start;
  while (offset < end) {
    const auto want =
        static_cast<std::size_t>(std::min<off_t>(end - offset, static_cast<off_t>(buffer.size())));
    const ssize_t n = ::pread(in, buffer.data(), want, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      throwErrno("read", source);
    }
    if (n == 0) break;
    ssize_t written = 0;
    while (written < n) {
      const ssize_t w = ::pwrite(out, buffer.data() + written,
                                 static_cast<std::size_t>(n - written), offset + written);
      if (w < 0) {
        if (errno == EINTR) continue;
        throwErrno("write copy of", source);
      }
      written += w;
    }
    offset += n;
  }
}

}  // namespace

void createSparseFile(const std::filesystem::path& path, std::uint64_t size) {
  FileDescriptor fd(createExclusive(path));
  if (::ftruncate(fd.get(), static_cast<off_t>(size)) != 0) {
    const int saved = errno;
    ::unlink(path.c_str());
    errno = saved;
    throwErrno("size", path);
  }
}

void growSparseFile(const std::filesystem::path& path, std::uint64_t size) {
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0) throwErrno("resize", path);
}

void copySparseFile(const std::filesystem::path& source, const std::filesystem::path& target) {
  FileDescriptor in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) throwErrno("open", source);
  struct stat info {};
  if (::fstat(in.get(), &info) != 0) throwErrno("stat", source);
  FileDescriptor out(createExclusive(target));
  try {
    off_t offset = 0;
    while (offset < info.st_size) {
      const off_t data = ::lseek(in.get(), offset, SEEK_DATA);
      if (data < 0) {
        if (errno == ENXIO) break;  // only a hole remains
        throwErrno("seek data in", source);
      }
      off_t hole = ::lseek(in.get(), data, SEEK_HOLE);
      if (hole < 0) hole = info.st_size;
      copyRange(in.get(), out.get(), data, hole, source);
      offset = hole;
    }
    if (::ftruncate(out.get(), info.st_size) != 0) throwErrno("size", target);
  } catch (...) {
    ::unlink(target.c_str());
    throw;
  }
}

}  // namespace rds_sim
