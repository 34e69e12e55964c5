#include "sparse_copy.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "file_io.hpp"
#include "temp_directory.hpp"

namespace polycsi::sample {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

class SparseCopyTest : public ::testing::Test {
 protected:
  UniqueFd makeFile(const std::string& name, int64_t size) {
    UniqueFd fd = openFile(dir_.path() / name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(::ftruncate(fd.get(), size), 0);
    return fd;
  }
  static void put(int fd, int64_t offset, const std::string& data) {
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
  }
  static std::string content(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    std::string out(static_cast<size_t>(st.st_size), '\0');
    EXPECT_EQ(::pread(fd, out.data(), out.size(), 0), static_cast<ssize_t>(out.size()));
    return out;
  }
  static int64_t allocated(int fd) {
    struct stat st {};
    EXPECT_EQ(::fstat(fd, &st), 0);
    return static_cast<int64_t>(st.st_blocks) * 512;
  }

  polycsi::testing::TempDir dir_{"polycsi-sparse-copy"};
};

TEST_F(SparseCopyTest, CopiesDataAndKeepsHoles) {
  UniqueFd src = makeFile("src", 16 * kMiB);
  put(src.get(), 0, "head");
  put(src.get(), 7 * kMiB + 5, std::string(10000, 'x'));
  put(src.get(), 16 * kMiB - 3, "end");
  ASSERT_EQ(::fsync(src.get()), 0);
  UniqueFd dst = makeFile("dst", 0);
  copySparseFile(src.get(), dst.get(), 16 * kMiB, Call{});
  EXPECT_EQ(content(dst.get()), content(src.get()));
  EXPECT_LT(allocated(dst.get()), kMiB);
}

TEST_F(SparseCopyTest, AnAllHoleSourceGivesAnAllHoleCopy) {
  UniqueFd src = makeFile("src", 4 * kMiB);
  UniqueFd dst = makeFile("dst", 0);
  copySparseFile(src.get(), dst.get(), 4 * kMiB, Call{});
  EXPECT_EQ(content(dst.get()), std::string(4 * kMiB, '\0'));
  EXPECT_EQ(allocated(dst.get()), 0);
}

TEST_F(SparseCopyTest, LeavesTheDestinationExactlyAsLongAsAsked) {
  UniqueFd src = makeFile("src", 2 * kMiB);
  put(src.get(), 0, "abc");
  UniqueFd dst = makeFile("dst", 5 * kMiB);  // stale content from an earlier attempt
  put(dst.get(), 3 * kMiB, "stale");
  copySparseFile(src.get(), dst.get(), 2 * kMiB, Call{});
  std::string data = content(dst.get());
  ASSERT_EQ(data.size(), static_cast<size_t>(2 * kMiB));
  EXPECT_EQ(data.substr(0, 3), "abc");
}

TEST_F(SparseCopyTest, StopsWhenTheCallIsCancelled) {
  UniqueFd src = makeFile("src", kMiB);
  put(src.get(), 0, "data");
  UniqueFd dst = makeFile("dst", 0);
  int32_t cancelled = 1;  // set before the call: no other thread writes it
  Call call;
  call.cancelled = &cancelled;
  try {
    copySparseFile(src.get(), dst.get(), kMiB, call);
    FAIL() << "a cancelled copy went ahead";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kCancelled);
  }
}

TEST_F(SparseCopyTest, StopsWhenTheDeadlinePassed) {
  UniqueFd src = makeFile("src", kMiB);
  UniqueFd dst = makeFile("dst", 0);
  Call call;
  call.timeout = std::chrono::milliseconds(1);
  call.start -= std::chrono::seconds(5);
  try {
    copySparseFile(src.get(), dst.get(), kMiB, call);
    FAIL() << "an expired copy went ahead";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
  }
}

}  // namespace
}  // namespace polycsi::sample
