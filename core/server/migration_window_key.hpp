// Where a PersistentVolume's volume context keeps its migration window (whole seconds, as
// text). polycsi's CreateVolume records it under kContextMigrationTimeout. A PV that
// 3whiskeywhiskey/rds-csi created carries that driver's own key instead, "migrationTimeoutSeconds"
// (its pkg/driver/controller.go at 97597243f9a0087965fe22dd3c5a22db72988562), with the same
// range and default; it counts only for the volumes the rds-csi adopter serves under that
// driver's handles (docs/migrating-from-rds-csi.md), and only when polycsi's key is absent.
//
// THREADING: pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "plugin_host/backend_registry.hpp"

namespace polycsi::server {

// rds-csi's volume context key of the migration window.
inline constexpr char kRdsCsiContextMigrationTimeout[] = "migrationTimeoutSeconds";

// True when `csiId` is an rds-csi handle that `backend` serves as the rds-csi adopter.
bool isAdoptedRdsCsiVolume(const plugin_host::ConfiguredBackend& backend, const std::string& csiId);

// The key to read the window from, given which keys the context `has`; nullopt when neither
// applies (the default window).
std::optional<std::string> migrationWindowKey(const std::function<bool(const char*)>& has,
                                              bool adoptedRdsCsiVolume);

}  // namespace polycsi::server
