// Where the driver's own on-demand libraries are: ../lib beside the running executable (bin/),
// as the build and the install lay them out. core/http loads its cpp-httplib module from there,
// core/attach its SQLite store (docs/architecture.md).
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include "polycsi/types.hpp"

namespace polycsi {

// The path of `file` in ../lib beside /proc/self/exe, normalised. FAILED_PRECONDITION naming
// `file` when the executable cannot be found. Reads a symlink; no other effect.
inline StatusOr<std::string> moduleBesideExecutable(const std::string& file) {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return Status(Code::kFailedPrecondition,
                  "cannot find the running executable through /proc/self/exe (" + ec.message() +
                      ") to load " + file + " beside it");
  }
  return (exe.parent_path() / ".." / "lib" / file).lexically_normal().string();
}

}  // namespace polycsi
