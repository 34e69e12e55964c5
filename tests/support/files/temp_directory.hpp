// The one temporary-directory wrapper of the tests: a fresh directory under the system temp dir
// ($TMPDIR, else /tmp), removed with everything in it at scope exit — after unmounting whatever
// a test (or the driver it ran) mounted below it and detaching loop devices backed by files
// below it, so that a failed test leaves neither mounts nor loop devices behind.
//
// THREADING: the object is not shared; the destructor runs `umount` and `losetup -d` through
// runCommand (child_process.hpp) only when something is mounted or looped below the directory.
#pragma once

#include <filesystem>
#include <string>

namespace polycsi::testing {

class TempDir {
 public:
  // `prefix` names the test that owns the directory, so a leftover is easy to attribute.
  // Throws std::runtime_error when the directory cannot be made.
  explicit TempDir(const std::string& prefix = "polycsi-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The same path as a string, for building paths by concatenation.
  const std::string& str() const { return text_; }
  // path()/`name` as a string.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
  std::string text_;
};

}  // namespace polycsi::testing
