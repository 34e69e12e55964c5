#include "loop_device_fixture.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "node/mount_table.hpp"

namespace polycsi::node::testing {
namespace {

constexpr std::chrono::seconds kLosetupTimeout(60);

// Mount points at or below `directory`, deepest first.
std::vector<std::string> mountsBelow(const std::string& directory) {
  std::vector<std::string> points;
  StatusOr<std::vector<MountTableEntry>> table = readMountTable();
  if (!table.isOk()) {
    ADD_FAILURE() << table.status().toString();
    return points;
  }
  for (const MountTableEntry& entry : *table) {
    if (entry.mountPoint.rfind(directory + "/", 0) == 0) points.push_back(entry.mountPoint);
  }
  std::sort(points.begin(), points.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return points;
}

}  // namespace

void LoopDeviceTest::SetUp() {
  ASSERT_EQ(::geteuid(), 0u)
      << "this test formats, mounts and attaches loop devices and must run as root; run the "
         "tests labelled 'root' as root (ctest -L root) or exclude them (ctest -LE root)";
  ASSERT_EQ(::access("/dev/loop-control", F_OK), 0)
      << "/dev/loop-control is missing: the loop driver is needed for these tests";
  char templ[] = "/tmp/polycsi-node-test-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr) << std::strerror(errno);
  scratch_ = templ;
}

void LoopDeviceTest::TearDown() {
  if (scratch_.empty()) return;
  // Unmount whatever a test left below the scratch directory, deepest first; stacked mounts
  // are handled by unmount() itself.
  for (const std::string& point : mountsBelow(scratch_)) {
    Status status = mounter_.unmount(point, false);
    EXPECT_TRUE(status.isOk()) << "teardown: " << status.toString();
  }
  for (auto it = attached_.rbegin(); it != attached_.rend(); ++it) {
    StatusOr<CommandResult> detached = runCommand({"losetup", "-d", it->device}, kLosetupTimeout);
    EXPECT_TRUE(detached.isOk() && detached->exitCode == 0)
        << "teardown: cannot detach " << it->device << ": "
        << (detached.isOk() ? detached->output : detached.status().toString());
  }
  attached_.clear();
  std::vector<std::string> left = mountsBelow(scratch_);
  if (!left.empty()) {
    // Never delete recursively through a mount: that would delete the mounted data.
    ADD_FAILURE() << "teardown: " << left.front() << " is still mounted; leaving " << scratch_;
    return;
  }
  std::error_code error;
  std::filesystem::remove_all(scratch_, error);
  EXPECT_FALSE(error) << "teardown: cannot remove " << scratch_ << ": " << error.message();
}

std::string LoopDeviceTest::attachLoopDevice(int64_t size) {
  const std::string backing = scratchPath("backing-" + std::to_string(attached_.size()) + ".img");
  int fd = ::open(backing.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    ADD_FAILURE() << "cannot create " << backing << ": " << std::strerror(errno);
    return "";
  }
  int truncated = ::ftruncate(fd, size);
  ::close(fd);
  if (truncated != 0) {
    ADD_FAILURE() << "cannot size " << backing << ": " << std::strerror(errno);
    return "";
  }
  StatusOr<CommandResult> result =
      runCommand({"losetup", "-f", "--show", backing}, kLosetupTimeout);
  if (!result.isOk() || result->exitCode != 0) {
    ADD_FAILURE() << "losetup -f --show " << backing
                  << " failed: " << (result.isOk() ? result->output : result.status().toString());
    return "";
  }
  std::string device = result->output.substr(0, result->output.find('\n'));
  if (device.rfind("/dev/loop", 0) != 0) {
    ADD_FAILURE() << "losetup printed an unexpected device: " << result->output;
    return "";
  }
  attached_.push_back({device, backing});
  return device;
}

void LoopDeviceTest::growLoopDevice(const std::string& device, int64_t newSize) {
  auto it = std::find_if(attached_.begin(), attached_.end(),
                         [&](const Attached& a) { return a.device == device; });
  ASSERT_NE(it, attached_.end()) << device << " was not attached by this test";
  ASSERT_EQ(::truncate(it->backingFile.c_str(), newSize), 0) << std::strerror(errno);
  StatusOr<CommandResult> result = runCommand({"losetup", "-c", device}, kLosetupTimeout);
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  ASSERT_EQ(result->exitCode, 0) << result->output;
}

void LoopDeviceTest::writeFile(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << "open " << path << ": " << std::strerror(errno);
  ssize_t written = ::write(fd, content.data(), content.size());
  int synced = ::fsync(fd);
  ::close(fd);
  ASSERT_EQ(written, static_cast<ssize_t>(content.size())) << path;
  ASSERT_EQ(synced, 0) << path;
}

std::string LoopDeviceTest::readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

}  // namespace polycsi::node::testing
