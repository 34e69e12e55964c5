// Shared fixture of the sample plugin tests: a fresh directory per test, a FakeHost running the
// plugin in-process, and a teardown that detaches every loop device bound to a file in that
// directory (so a failing test never leaks devices).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "loop_device.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"
#include "temp_directory.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::sample::testing {

inline constexpr int64_t kMiB = int64_t{1} << 20;

class SampleTest : public ::testing::Test {
 protected:
  void TearDown() override {
    backend_.reset();
    // TempDir detaches what is backed below the path it was given; the kernel names backing
    // files by their canonical path, which is dir_ (they differ when $TMPDIR is a symlink).
    for (const auto& loop : findLoopDevicesUnder(dir_)) detachLoopDevice(loop);
  }

  // Starts a backend on the test's directory (plus `extra` settings); fails the test on error.
  PluginInstance& start(StringMap extra = {}, Role role = Role::kAll) {
    auto started = tryStart(std::move(extra), role);
    if (!started.isOk()) {
      ADD_FAILURE() << "backend did not start: " << started.status().toString();
      throw std::runtime_error("backend did not start");
    }
    backend_ = std::move(started).value();
    return *backend_;
  }

  StatusOr<std::unique_ptr<PluginInstance>> tryStart(StringMap settings, Role role = Role::kAll) {
    if (!settings.count("directory")) settings["directory"] = dir_.string();
    InstanceConfig config;
    config.instanceName = "sample-test";
    config.role = role;
    config.settings = std::move(settings);
    config.stateDir = dir_.string();
    return host_.start(polycsi_plugin_entry(), config);
  }

  Volume create(const std::string& name, int64_t requiredBytes,
                VolumeMode mode = VolumeMode::kFilesystem) {
    CreateVolumeRequest req;
    req.name = name;
    req.requiredBytes = requiredBytes;
    req.volumeMode = mode;
    auto v = backend_->createVolume(req);
    EXPECT_TRUE(v.isOk()) << v.status().toString();
    return v.isOk() ? *v : Volume{};
  }

  std::filesystem::path volumeImage(const std::string& id) const {
    return dir_ / "volumes" / (id + ".img");
  }
  std::filesystem::path snapshotImage(const std::string& id) const {
    return dir_ / "snapshots" / (id + ".img");
  }

  // Writes `data` at `offset` of `path` (a regular file or a block device).
  static void writeAt(const std::filesystem::path& path, int64_t offset, const std::string& data) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << "cannot open " << path;
    ASSERT_EQ(::pwrite(fd, data.data(), data.size(), offset), static_cast<ssize_t>(data.size()));
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }

  // The whole content of a file.
  static std::string readAll(const std::filesystem::path& path) {
    std::string out;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return out;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }

  static int64_t fileSize(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
  }

  PluginInstance& backend() { return *backend_; }

  polycsi::testing::TempDir tmp_{"polycsi-sample-test"};
  const std::filesystem::path dir_ = std::filesystem::canonical(tmp_.path());
  polycsi::testing::FakeHost host_;
  std::unique_ptr<PluginInstance> backend_;
};

// True when this process may bind loop devices (root with the loop driver present).
inline bool loopDevicesUsable() {
  int fd = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace polycsi::sample::testing
