// The plugin's side of the REST transport: loads libpolycsi_iscsi_powerstore_rest.so on the
// first REST call (rest_module.hpp says why), as rds_nvme loads its SSH client.
#include "rest_module.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

namespace polycsi::iscsi_powerstore {
namespace {

// ../lib/<module> beside the object this code is in: the plugin (plugins/) or an executable
// that links the plugin's objects (bin/).
std::string modulePath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&modulePath), &info) == 0 || info.dli_fname == nullptr)
    throw Error(Code::kFailedPrecondition,
                "cannot find where the iscsi_powerstore plugin was loaded from, to load " +
                    std::string(kRestModuleFile) + " beside it");
  std::error_code ec;
  std::filesystem::path self = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) self = info.dli_fname;
  return (self.parent_path() / ".." / "lib" / kRestModuleFile).lexically_normal().string();
}

const RestModule* loadModule(const std::string& path, std::string& error) {
  // RTLD_LOCAL: libcurl's and its TLS library's symbols stay out of the other plugins' way.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = "cannot load the iscsi_powerstore REST library " + path + " (" +
            (why != nullptr ? why : "unknown error") +
            "); it is installed with the plugin, in ../lib beside the plugin directory";
    return nullptr;
  }
  using Entry = const RestModule* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kRestModuleEntryPoint));
  const RestModule* module = entry != nullptr ? entry() : nullptr;
  if (module == nullptr || module->size != sizeof(RestModule)) {
    dlclose(handle);
    error = "the iscsi_powerstore REST library " + path + " does not match this plugin (no " +
            kRestModuleEntryPoint + " of this build): install both from the same build";
    return nullptr;
  }
  return module;  // never unloaded: libcurl's globals live until the process exits
}

}  // namespace

const RestModule& restModule() {
  static std::once_flag once;
  static const RestModule* loaded = nullptr;
  static std::string error;
  std::call_once(once, [] {
    try {
      loaded = loadModule(modulePath(), error);
    } catch (const Error& e) {
      error = e.what();
    }
  });
  if (loaded == nullptr) throw Error(Code::kFailedPrecondition, error);
  return *loaded;
}

}  // namespace polycsi::iscsi_powerstore
