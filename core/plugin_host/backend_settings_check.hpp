// The one validation of a backend's settings that both `polycsi serve` (before it starts any
// backend) and `polycsi validate-config` run, so a configuration validate-config accepts is one
// serve accepts, and both reject a bad one with the same message before connecting anywhere.
#pragma once

#include <string>
#include <vector>

#include "config/driver_config.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "polycsi/types.hpp"

namespace polycsi::plugin_host {

// Every problem with backends[index]'s settings for a process serving `role`: first the
// descriptor's specs (config::checkBackendSettings: unknown keys, kinds, keys `role` requires),
// then, when those pass, the plugin's own check_settings (ABI 1.2; what its init would refuse,
// e.g. a malformed address), which never connects. One message per problem, each starting
// "backends[<index>].settings" ("backends[0].settings: setting 'base_path' ..." for the
// plugin's). Secret values the config holds are redacted from the plugin's message. Throws
// std::out_of_range for a bad index. Thread-safe when the plugin's check_settings is.
std::vector<std::string> checkBackendBeforeStart(const config::DriverConfig& config, size_t index,
                                                 const LoadedPlugin& plugin, Role role);

}  // namespace polycsi::plugin_host
