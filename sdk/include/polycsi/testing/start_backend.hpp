// Starts a backend that a test constructs with dependencies of its own (a fake transport, a
// fake clock, ...) and drives it through its C table, as FakeHost::start does with the
// plugin's entry point:
//
//   polycsi::testing::FakeHost host;
//   auto backend = polycsi::testing::startBackend<MyBackend>(host, config, fakeTransport);
//
// The backend is constructed as B(ctx, args...) where the plugin's own init uses B(ctx); so a
// plugin takes its dependencies as constructor arguments, and its one-argument constructor
// (the one POLYCSI_PLUGIN calls) passes the production ones. Nothing global is replaced.
//
// Header-only; include it in tests only. THREADING: as FakeHost::start.
#pragma once

#include <memory>
#include <string>

#include "polycsi/plugin.hpp"
#include "polycsi/plugin_client.hpp"
#include "polycsi/testing/fake_host.hpp"

namespace polycsi::testing {

// Checks B's table as the host does, then creates an instance constructed as B(ctx, args...)
// (the arguments are copied into each call) and returns it behind B's C table. An exception of
// the constructor becomes the status the plugin's own init would return for it (the SDK's
// boundary turns it into a code and message). `host` must outlive the instance.
template <typename B, typename... Args>
StatusOr<std::unique_ptr<PluginInstance>> startBackend(FakeHost& host, const InstanceConfig& config,
                                                       Args... args) {
  const polycsi_plugin_api* table = ::polycsi::sdk_detail::Exports<B>::table();
  std::string problem = checkPluginTable(table, "plugin under test");
  if (!problem.empty()) return Status(Code::kFailedPrecondition, problem);
  const InitContext ctx{config.call,         config.instanceName, config.role,
                        config.settings,     config.settingsJson, config.stateDir,
                        Host(host.hostApi())};
  polycsi_init_result out{};
  const polycsi_code code = ::polycsi::sdk_detail::guarded(
      &out, [&] { out.instance = reinterpret_cast<polycsi_instance*>(new B(ctx, args...)); });
  if (code != POLYCSI_OK) {
    std::string message = abi::toString(out.header.message);
    if (out.header.release != nullptr) out.header.release(out.header.owner);
    if (message.empty()) message = "init of backend '" + config.instanceName + "' failed";
    return Status(static_cast<Code>(code), message);
  }
  return std::make_unique<PluginInstance>(table, out.instance);
}

}  // namespace polycsi::testing
