// Shared fixture of the rds_nvme backend tests: a FakeRds as the backend's transport (passed to
// its constructor), a FakeHost running the plugin in-process through its C table, and a fresh
// state directory per test.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "fake_rds.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"
#include "polycsi/testing/start_backend.hpp"
#include "rds_backend.hpp"
#include "temp_directory.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::rds_nvme::testing {

inline constexpr int64_t kMiB = int64_t{1} << 20;
inline constexpr int64_t kGiB = int64_t{1} << 30;
inline constexpr char kBase[] = "/storage-pool/kubernetes-volumes";
inline constexpr char kFingerprint[] = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
inline constexpr char kNodeA[] =
    "nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-0000-0000-0000-000000000001";
inline constexpr char kNodeB[] =
    "nqn.2014-08.org.nvmexpress:uuid:bbbbbbbb-0000-0000-0000-000000000002";

inline StringMap baseSettings() {
  return {{"address", "10.42.68.1"}, {"user", "admin"},
          {"password", "secret"},    {"host_key_fingerprint", kFingerprint},
          {"base_path", kBase},      {"orphan_scan_interval_seconds", "0"}};
}

class RdsBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rds_.addPool("storage-pool", int64_t{7949127950336}, int64_t{5963595964416});
  }
  void TearDown() override { backend_.reset(); }

  StatusOr<std::unique_ptr<PluginInstance>> tryStart(StringMap settings,
                                                     Role role = Role::kController) {
    InstanceConfig config;
    config.instanceName = "rds-test";
    config.role = role;
    config.settings = std::move(settings);
    config.stateDir = stateDir_.str();
    return polycsi::testing::startBackend<RdsBackend>(
        host_, config, transports_ ? transports_ : forwardingTo(&rds_), nodePaths_);
  }

  PluginInstance& start(StringMap overrides = {}, Role role = Role::kController) {
    StringMap settings = baseSettings();
    for (auto& [k, v] : overrides) settings[k] = v;
    auto started = tryStart(std::move(settings), role);
    if (!started.isOk()) {
      ADD_FAILURE() << "backend did not start: " << started.status().toString();
      throw std::runtime_error("backend did not start");
    }
    backend_ = std::move(started).value();
    return *backend_;
  }

  static CreateVolumeRequest createRequest(const std::string& name, int64_t required,
                                           StringMap parameters = {}) {
    CreateVolumeRequest req;
    req.name = name;
    req.requiredBytes = required;
    req.volumeMode = VolumeMode::kBlock;
    req.parameters = std::move(parameters);
    return req;
  }

  Volume create(const std::string& name, int64_t required, StringMap parameters = {}) {
    auto v = backend_->createVolume(createRequest(name, required, std::move(parameters)));
    EXPECT_TRUE(v.isOk()) << v.status().toString();
    return v.isOk() ? *v : Volume{};
  }

  PublishRequest publishRequest(const std::string& id, const std::string& node,
                                const std::string& identity) {
    PublishRequest req;
    req.volumeId = id;
    req.nodeName = node;
    req.nodeIdentity = identity;
    return req;
  }

  FakeRds rds_;
  polycsi::testing::FakeHost host_;
  polycsi::testing::TempDir stateDir_{"polycsi-rds-test"};
  NodePaths nodePaths_;          // the node side's /sys and /dev: a fake tree in the node tests
  TransportFactory transports_;  // when set, in place of forwarding to rds_
  std::unique_ptr<PluginInstance> backend_;  // declared after stateDir_: stopped before it goes
};

}  // namespace polycsi::rds_nvme::testing
