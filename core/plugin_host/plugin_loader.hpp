// Loads plugin shared objects with Boost.DLL and checks them before use: the entry symbol is
// present, the ABI version is compatible, required functions exist, the descriptor is sane.
// A bad plugin is refused with a message naming the file and the reason.
#pragma once

#include <boost/dll/shared_library.hpp>
#include <memory>
#include <string>
#include <vector>

#include "polycsi/plugin_abi.h"
#include "polycsi/plugin_client.hpp"
#include "polycsi/types.hpp"

namespace polycsi::plugin_host {

// One loaded, checked plugin library. Keeps the library mapped while it lives.
// THREADING: immutable after load; safe to share.
class LoadedPlugin {
 public:
  // Keeps a widened copy of `table` (widenPluginTable): a table built against an older ABI
  // minor has NULL for the members it lacks.
  LoadedPlugin(std::string path, boost::dll::shared_library library,
               const polycsi_plugin_api* table, Descriptor descriptor);
  LoadedPlugin(const LoadedPlugin&) = delete;
  LoadedPlugin& operator=(const LoadedPlugin&) = delete;

  const std::string& path() const { return path_; }
  // The widened table, full size for this host; valid as long as this object.
  const polycsi_plugin_api* table() const { return &table_; }
  const Descriptor& descriptor() const { return descriptor_; }
  PluginFeatures features() const { return PluginFeatures::of(&table_); }
  // "major.minor" the plugin was built against.
  std::string abiVersion() const;

 private:
  std::string path_;
  boost::dll::shared_library library_;
  polycsi_plugin_api table_;
  Descriptor descriptor_;
};

// The file that holds plugin `name`: <pluginDir>/polycsi_<name>.so
std::string pluginPath(const std::string& pluginDir, const std::string& name);

// Default plugin directory: ../plugins beside the running executable. FAILED_PRECONDITION
// when the executable cannot be found through /proc/self/exe.
StatusOr<std::string> defaultPluginDir();

// Loads and checks one file. FAILED_PRECONDITION (message names the file and reason) when the
// file is missing, not a shared object, lacks the entry symbol, has an incompatible ABI,
// misses a required function or has an invalid descriptor.
StatusOr<std::shared_ptr<LoadedPlugin>> loadPlugin(const std::string& path);

// Why a plugin's descriptor is unusable, or empty when it is sane: the name matches
// [a-z0-9_]+ and equals `expectedName` (the name its file carries), the metrics prefix matches
// [a-z_][a-z0-9_]*, every capability has a known access mode (1..7), volume mode and
// semantics, no (access mode, volume mode) pair appears twice, migration_window is declared
// only for block volumes, setting/parameter specs have unique names and known kinds, and (for
// a plugin built with `abiMinor` >= 2) each setting's required roles are known role bits.
// The message does not name the file; loadPlugin adds it. Pure function; thread-safe.
std::string checkDescriptor(const polycsi_descriptor& descriptor, const std::string& expectedName,
                            uint32_t abiMinor = POLYCSI_ABI_VERSION_MINOR);

// The plugin name a file name carries ("polycsi_<name>.so" -> "<name>"), or empty when the
// file name does not have that form.
std::string pluginNameOfFile(const std::string& path);

// Every polycsi_*.so in a directory, loaded or with the reason it was refused.
struct DiscoveredPlugin {
  std::string path;
  std::shared_ptr<LoadedPlugin> plugin;  // null when refused
  std::string error;
};
// Sorted by path. When the directory cannot be read, one entry whose path is the directory and
// whose error says why.
std::vector<DiscoveredPlugin> discoverPlugins(const std::string& pluginDir);

}  // namespace polycsi::plugin_host
