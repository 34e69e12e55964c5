// Small POSIX file helpers of the sample plugin: an owning file descriptor, errors that carry
// errno, and the crash-safe "write a temporary file, fsync, rename" step the on-disk layout
// relies on.
//
// THREADING: free functions, safe to call from any thread on different paths.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "polycsi/types.hpp"

namespace polycsi::sample {

// Owns one file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor now (errors of close are not reportable here and are ignored).
  void reset();

 private:
  int fd_ = -1;
};

// An Error with `code` whose message is "<what>: <strerror(err)>".
Error errnoError(Code code, const std::string& what, int err);

// Opens `path` with open(2) flags (O_CLOEXEC is always added); throws INTERNAL (or NOT_FOUND
// when the file does not exist and `flags` lacks O_CREAT) naming the path on failure.
UniqueFd openFile(const std::filesystem::path& path, int flags, int mode = 0600);

// fsync(2) on `fd`; throws INTERNAL naming `what` on failure.
void syncFd(int fd, const std::string& what);

// Makes a rename or unlink inside `dir` durable by fsyncing the directory itself.
void syncDirectory(const std::filesystem::path& dir);

// Runs the step that makes a written file visible (the rename); a caller may wrap it, e.g. to
// hand back a space reservation in the same moment.
using PublishStep = std::function<void(const std::function<void()>& rename)>;

// Replaces `path` with `content` atomically: writes "<path>.partial", fsyncs it, renames it over
// `path` (through `publish` when given) and fsyncs the directory, so a crash leaves either the
// old or the new file, never half of one. Not safe for two concurrent writers of the same path.
void writeFileAtomically(const std::filesystem::path& path, std::string_view content,
                         const PublishStep& publish = nullptr);

// The whole content of a (small) file; throws NOT_FOUND when it does not exist.
std::string readWholeFile(const std::filesystem::path& path);
// The whole file, or nullopt when it does not exist; other errors throw as readWholeFile.
// Absence is an answer, not an exception: unwinding cost more than the read itself on the
// hot paths that look for files that may not be there (bench/README.md).
std::optional<std::string> readFileIfPresent(const std::filesystem::path& path);

// Removes `path` when present; returns whether it existed. Throws INTERNAL on other errors.
bool removeIfPresent(const std::filesystem::path& path);

}  // namespace polycsi::sample
