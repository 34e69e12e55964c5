// Disk image files: created sparse, grown without writing, copied without filling holes.
#pragma once

#include <cstdint>
#include <filesystem>

namespace rds_sim {

// Creates `path` (which must not exist) as a sparse file of `size` bytes, creating missing
// parent directories. Throws std::system_error naming the path on failure; removes a
// half-created file.
void createSparseFile(const std::filesystem::path& path, std::uint64_t size);

// Extends `path` to `size` bytes without writing data. Throws std::system_error on failure.
void growSparseFile(const std::filesystem::path& path, std::uint64_t size);

// Copies `source` to the new file `target` (which must not exist), reading only the source's
// data extents (SEEK_DATA/SEEK_HOLE) so holes stay holes; the copy has the source's size.
// Throws std::system_error on failure and removes the partial target.
void copySparseFile(const std::filesystem::path& source, const std::filesystem::path& target);

}  // namespace rds_sim
