// A test fixture for node-side tests on real loop devices: a unique scratch directory under
// /tmp, sparse backing files attached with losetup, and a teardown that unmounts everything
// below the scratch directory, detaches every loop device it attached and only then removes
// the directory. Needs root; fails (never skips) otherwise.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "node/mounter.hpp"

namespace polycsi::node::testing {

constexpr int64_t kMiB = 1024 * 1024;

class LoopDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Attaches a new sparse file of `size` bytes; returns the loop device path ("" after a test
  // failure was recorded).
  std::string attachLoopDevice(int64_t size);
  // Grows the backing file of `device` and tells the loop driver (losetup -c).
  void growLoopDevice(const std::string& device, int64_t newSize);
  // A path inside the scratch directory (not created).
  std::string scratchPath(const std::string& name) const { return scratch_ + "/" + name; }

  static void writeFile(const std::string& path, const std::string& content);
  static std::string readFile(const std::string& path);

  Mounter mounter_{std::chrono::seconds(120)};

 private:
  struct Attached {
    std::string device;
    std::string backingFile;
  };
  std::string scratch_;
  std::vector<Attached> attached_;
};

}  // namespace polycsi::node::testing
