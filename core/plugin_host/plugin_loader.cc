// Loading and checking plugin shared objects.
#include "plugin_host/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "polycsi/abi_convert.hpp"

namespace polycsi::plugin_host {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kFilePrefix = "polycsi_";
constexpr std::string_view kFileSuffix = ".so";

// What dlopen said about the last failure; Boost.DLL keeps only a generic error code.
std::string lastLoadError(const boost::dll::fs::error_code& ec) {
  const char* text = ::dlerror();
  return text != nullptr ? std::string(text) : ec.message();
}

Status refuse(const std::string& origin, const std::string& why) {
  return Status(Code::kFailedPrecondition, origin + ": " + why);
}

// The table a loaded library's entry point returns, or the reason there is none.
StatusOr<const polycsi_plugin_api*> entryTable(const boost::dll::shared_library& library,
                                               const std::string& origin) {
  if (!library.has(POLYCSI_PLUGIN_ENTRY_SYMBOL))
    return refuse(origin, std::string("does not export ") + POLYCSI_PLUGIN_ENTRY_SYMBOL +
                              " (not a polycsi plugin, or built without POLYCSI_PLUGIN)");
  auto& entry = library.get<const polycsi_plugin_api*()>(POLYCSI_PLUGIN_ENTRY_SYMBOL);
  try {
    return entry();
  } catch (const std::exception& e) {
    return refuse(origin, std::string(POLYCSI_PLUGIN_ENTRY_SYMBOL) + " threw: " + e.what());
  } catch (...) {
    return refuse(origin, std::string(POLYCSI_PLUGIN_ENTRY_SYMBOL) + " threw");
  }
}

}  // namespace

LoadedPlugin::LoadedPlugin(std::string path, boost::dll::shared_library library,
                           const polycsi_plugin_api* table, Descriptor descriptor)
    : path_(std::move(path)),
      library_(std::move(library)),
      table_(widenPluginTable(table)),
      descriptor_(std::move(descriptor)) {}

std::string LoadedPlugin::abiVersion() const {
  return std::to_string(table_.abi_major) + "." + std::to_string(table_.abi_minor);
}

std::string pluginPath(const std::string& pluginDir, const std::string& name) {
  return (fs::path(pluginDir) / (std::string(kFilePrefix) + name + std::string(kFileSuffix)))
      .string();
}

std::string pluginNameOfFile(const std::string& path) {
  const std::string file = fs::path(path).filename().string();
  if (file.size() <= kFilePrefix.size() + kFileSuffix.size() || !file.starts_with(kFilePrefix) ||
      !file.ends_with(kFileSuffix))
    return {};
  return file.substr(kFilePrefix.size(), file.size() - kFilePrefix.size() - kFileSuffix.size());
}

StatusOr<std::string> defaultPluginDir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec)
    return Status(Code::kFailedPrecondition,
                  "cannot find the running executable through /proc/self/exe (" + ec.message() +
                      "); set plugin_dir in the configuration");
  return (exe.parent_path() / ".." / "plugins").lexically_normal().string();
}

StatusOr<std::shared_ptr<LoadedPlugin>> loadPlugin(const std::string& path) {
  const std::string origin = "plugin " + path;
  std::error_code statError;
  const fs::file_status status = fs::status(path, statError);
  if (!fs::exists(status)) return refuse(origin, "no such file");
  if (!fs::is_regular_file(status)) return refuse(origin, "not a regular file");
  const std::string expectedName = pluginNameOfFile(path);
  if (expectedName.empty()) return refuse(origin, "file name must have the form polycsi_<name>.so");

  // rtld_now: a plugin with unresolved symbols is refused here instead of crashing on the first
  // call that needs one. rtld_local: plugins cannot see or clash with each other's symbols.
  boost::dll::fs::error_code ec;
  boost::dll::shared_library library(
      boost::dll::fs::path(path), ec,
      boost::dll::load_mode::rtld_local | boost::dll::load_mode::rtld_now);
  if (ec || !library.is_loaded())
    return refuse(origin, "cannot be loaded as a shared object: " + lastLoadError(ec));

  auto table = entryTable(library, origin);
  if (!table.isOk()) return table.status();
  // No try/catch around describe(): an exception must not cross the C boundary (undefined
  // behaviour); the SDK turns one into NULL plus describe_error, which checkPluginTable and
  // describeFailure report with the exception's text.
  if (std::string problem = checkPluginTable(*table, origin); !problem.empty())
    return Status(Code::kFailedPrecondition, problem);
  const polycsi_plugin_api widened = widenPluginTable(*table);
  const polycsi_descriptor* raw = widened.describe();
  if (raw == nullptr) return refuse(origin, describeFailure(widened));
  if (std::string problem = checkDescriptor(*raw, expectedName, (*table)->abi_minor);
      !problem.empty())
    return refuse(origin, problem);
  Descriptor descriptor = abi::toDescriptor(*raw, (*table)->abi_minor);
  // since 1.3 (modify volume): a parameter marked mutable is applied by modify_volume; without
  // it every ControllerModifyVolume naming the parameter would fail after being accepted.
  for (const auto& p : descriptor.parameters)
    if (p.isMutable && widened.modify_volume == nullptr)
      return refuse(origin, "parameter '" + p.name +
                                "' is marked mutable but the plugin has no modify_volume");
  return std::make_shared<LoadedPlugin>(path, std::move(library), *table, std::move(descriptor));
}

std::vector<DiscoveredPlugin> discoverPlugins(const std::string& pluginDir) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (fs::directory_iterator it(pluginDir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string path = it->path().string();
    if (!pluginNameOfFile(path).empty()) paths.push_back(path);
  }
  if (ec)
    return {DiscoveredPlugin{pluginDir, nullptr,
                             "plugin directory " + pluginDir + " cannot be read: " + ec.message()}};
  std::sort(paths.begin(), paths.end());
  std::vector<DiscoveredPlugin> found;
  for (const auto& path : paths) {
    auto plugin = loadPlugin(path);
    if (plugin.isOk())
      found.push_back(DiscoveredPlugin{path, *plugin, {}});
    else
      found.push_back(DiscoveredPlugin{path, nullptr, plugin.status().message()});
  }
  return found;
}

}  // namespace polycsi::plugin_host
