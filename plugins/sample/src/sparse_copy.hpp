// Copies one image file into another without filling the holes of a sparse source.
//
// THREADING: stateless; safe on different file pairs from several threads.
#pragma once

#include <cstdint>

#include "polycsi/types.hpp"

namespace polycsi::sample {

// How copySparseFile got the data across, for logs and tests.
enum class CopyMethod { kReflink, kCopyFileRange, kReadWrite };

// Copies the first `length` bytes of `srcFd` to the same offsets of `dstFd`, which must be an
// empty regular file. Prefers a reflink (FICLONE: instant, shares blocks), then copy_file_range
// over the source's data extents (SEEK_DATA/SEEK_HOLE), then read/write that skips all-zero
// blocks; holes of the source stay holes. Leaves dstFd exactly `length` bytes long. Checks
// `call` between chunks and throws DEADLINE_EXCEEDED or CANCELLED from there; throws INTERNAL on
// I/O errors. The caller owns both descriptors.
CopyMethod copySparseFile(int srcFd, int dstFd, int64_t length, const Call& call);

}  // namespace polycsi::sample
