// The fixture of the nfs plugin's in-process tests against a real nfs-ganesha: the server
// (tests/support/peers) starts before each test, the backend (through polycsi_plugin_entry()
// and the SDK's FakeHost, or built with a copy hook) when the test asks; a failed test prints
// ganesha's log. A test fails at once, naming what is missing, when ganesha or root is not there.
//
// THREADING: gtest runs SetUp, the test and TearDown on one thread.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>

#include "ganesha_server.hpp"
#include "nfs_backend.hpp"
#include "polycsi/plugin_abi.h"
#include "polycsi/testing/fake_host.hpp"
#include "polycsi/testing/start_backend.hpp"

extern "C" const polycsi_plugin_api* polycsi_plugin_entry(void);

namespace polycsi::nfs::testing {

class GaneshaBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string reason = polycsi::testing::GaneshaServer::unavailableReason();
    if (!reason.empty())
      FAIL() << "prerequisite missing (scripts/install-deps.sh and root provide it): " << reason;
    server_.start();
  }
  void TearDown() override {
    backend_.reset();
    if (HasFailure()) std::cerr << "ganesha log:\n" << server_.log();
  }
  // Starts the backend as instance `instanceName` on the server's share, with the NFS call
  // timeout `timeoutSeconds` and `extra` settings on top. Throws with the plugin's refusal.
  PluginInstance& startBackend(const std::string& instanceName, int timeoutSeconds,
                               const StringMap& extra = {}) {
    InstanceConfig config;
    config.instanceName = instanceName;
    config.settings = {{"server", "127.0.0.1"},
                       {"share", polycsi::testing::GaneshaServer::share()},
                       {"nfs_port", std::to_string(server_.nfsPort())},
                       {"timeout_seconds", std::to_string(timeoutSeconds)}};
    for (const auto& [key, value] : extra) config.settings[key] = value;
    // With a copy hook the backend is built with it (as the plugin's init builds it without).
    auto started = afterCopyProgress_ ? polycsi::testing::startBackend<NfsBackend>(
                                            host_, config, afterCopyProgress_)
                                      : host_.start(polycsi_plugin_entry(), config);
    if (!started.isOk()) throw std::runtime_error(started.status().toString());
    backend_ = std::move(started).value();
    return *backend_;
  }

  polycsi::testing::GaneshaServer server_;
  polycsi::testing::FakeHost host_;
  // Given to the backend's copies (CopyJobs::Options::afterProgress) when set before start.
  std::function<void(const std::string& key, const Call& call)> afterCopyProgress_;
  std::unique_ptr<PluginInstance> backend_;
};

}  // namespace polycsi::nfs::testing
