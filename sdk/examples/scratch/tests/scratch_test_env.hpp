// Shared setup of the scratch plugin's unit tests: a private state directory and the plugin
// started through the SDK's FakeHost, exactly as polycsi would call it, in-process.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>

#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace scratch::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/scratch-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ScratchTest : public ::testing::Test {
 protected:
  // Starts an instance with `settings`; fails the test when the plugin refuses.
  std::unique_ptr<polycsi::PluginInstance> start(polycsi::StringMap settings = {}) {
    auto instance =
        host_.start(polycsi_plugin_entry(), polycsi::InstanceConfig{.instanceName = "scratch-test",
                                                                    .settings = std::move(settings),
                                                                    .stateDir = state_.path()});
    if (!instance.isOk()) {
      ADD_FAILURE() << instance.status().toString();
      return nullptr;
    }
    return std::move(*instance);
  }

  static polycsi::CreateVolumeRequest create(const std::string& name, int64_t bytes,
                                             polycsi::StringMap parameters = {}) {
    return polycsi::CreateVolumeRequest{.name = name,
                                        .requiredBytes = bytes,
                                        .volumeMode = polycsi::VolumeMode::kFilesystem,
                                        .parameters = std::move(parameters)};
  }

  TempDir state_;
  polycsi::testing::FakeHost host_;
};

}  // namespace scratch::testing
