#include "sparse_copy.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "file_io.hpp"

namespace polycsi::sample {
namespace {

// Big enough to be efficient, small enough to notice a deadline or cancellation promptly.
constexpr int64_t kChunkBytes = 8 << 20;
constexpr size_t kZeroBlockBytes = 4096;

struct Extent {
  int64_t offset;
  int64_t length;
};

// The data extents of the first `length` bytes of `fd`; the whole range when the filesystem
// cannot tell data from holes.
std::vector<Extent> dataExtents(int fd, int64_t length) {
  std::vector<Extent> extents;
  int64_t pos = 0;
  while (pos < length) {
    off_t data = ::lseek(fd, pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole remains
      if (errno == EINVAL || errno == EOPNOTSUPP) return {Extent{0, length}};
      throw errnoError(Code::kInternal, "cannot find the data of the source image", errno);
    }
    if (data >= length) break;
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0)
      throw errnoError(Code::kInternal, "cannot find a hole in the source image", errno);
    int64_t end = std::min<int64_t>(hole, length);
    extents.push_back(Extent{data, end - data});
    pos = end;
  }
  return extents;
}

bool isAllZero(const char* data, size_t size) {
  for (size_t i = 0; i < size; ++i)
    if (data[i] != 0) return false;
  return true;
}

// Copies one extent by read/write, leaving all-zero blocks unwritten (they read as zero from
// the destination, which was truncated to full length beforehand).
void copyByReadWrite(int srcFd, int dstFd, Extent extent, const Call& call) {
  std::vector<char> buffer(static_cast<size_t>(kChunkBytes));
  int64_t pos = extent.offset;
  int64_t end = extent.offset + extent.length;
  while (pos < end) {
    call.checkpoint("copying the image");
    size_t want = static_cast<size_t>(std::min<int64_t>(kChunkBytes, end - pos));
    ssize_t got = ::pread(srcFd, buffer.data(), want, pos);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw errnoError(Code::kInternal, "cannot read the source image", errno);
    }
    if (got == 0) break;  // the source is shorter than expected: the rest stays zero
    for (size_t block = 0; block < static_cast<size_t>(got); block += kZeroBlockBytes) {
      size_t size = std::min(kZeroBlockBytes, static_cast<size_t>(got) - block);
      if (isAllZero(buffer.data() + block, size)) continue;
      size_t written = 0;
      while (written < size) {
        ssize_t n = ::pwrite(dstFd, buffer.data() + block + written, size - written,
                             pos + static_cast<int64_t>(block + written));
        if (n < 0) {
          if (errno == EINTR) continue;
          throw errnoError(Code::kInternal, "cannot write the new image", errno);
        }
        written += static_cast<size_t>(n);
      }
    }
    pos += got;
  }
}

// Copies one extent with copy_file_range; returns false (having copied nothing or a prefix that
// the caller copies again) when the kernel or filesystem cannot do it.
bool copyByCopyFileRange(int srcFd, int dstFd, Extent extent, const Call& call) {
  off_t in = extent.offset;
  off_t out = extent.offset;
  int64_t end = extent.offset + extent.length;
  while (in < end) {
    call.checkpoint("copying the image");
    size_t want = static_cast<size_t>(std::min<int64_t>(kChunkBytes, end - in));
    ssize_t n = ::copy_file_range(srcFd, &in, dstFd, &out, want, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL) return false;
      throw errnoError(Code::kInternal, "cannot copy the source image", errno);
    }
    if (n == 0) break;  // end of the source
  }
  return true;
}

}  // namespace

CopyMethod copySparseFile(int srcFd, int dstFd, int64_t length, const Call& call) {
  call.checkpoint("copying the image");
  if (::ftruncate(dstFd, 0) != 0)
    throw errnoError(Code::kInternal, "cannot truncate the new image", errno);
  if (::ioctl(dstFd, FICLONE, srcFd) == 0) {
    if (::ftruncate(dstFd, length) != 0)
      throw errnoError(Code::kInternal, "cannot size the new image", errno);
    return CopyMethod::kReflink;
  }
  if (::ftruncate(dstFd, length) != 0)
    throw errnoError(Code::kInternal, "cannot size the new image", errno);
  CopyMethod method = CopyMethod::kCopyFileRange;
  for (const Extent& extent : dataExtents(srcFd, length)) {
    if (method == CopyMethod::kCopyFileRange && copyByCopyFileRange(srcFd, dstFd, extent, call))
      continue;
    method = CopyMethod::kReadWrite;
    copyByReadWrite(srcFd, dstFd, extent, call);
  }
  return method;
}

}  // namespace polycsi::sample
