#include "server/migration_window_key.hpp"

#include "server/csi_validation.hpp"
#include "volume/rds_csi_ids.hpp"

namespace polycsi::server {

bool isAdoptedRdsCsiVolume(const plugin_host::ConfiguredBackend& backend,
                           const std::string& csiId) {
  return backend.adoptsRdsCsiVolumes() && volume::isRdsCsiVolumeId(csiId);
}

std::optional<std::string> migrationWindowKey(const std::function<bool(const char*)>& has,
                                              bool adoptedRdsCsiVolume) {
  if (has(kContextMigrationTimeout)) return std::string(kContextMigrationTimeout);
  if (adoptedRdsCsiVolume && has(kRdsCsiContextMigrationTimeout))
    return std::string(kRdsCsiContextMigrationTimeout);
  return std::nullopt;
}

}  // namespace polycsi::server
