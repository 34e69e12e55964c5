// A plugin's companion library: code a plugin keeps out of every process that loads it (e.g. an
// SSH or HTTPS client and the TLS libraries it brings, which only the controller uses), built as
// ../lib/<file> beside the plugin's directory and loaded on first use. rds_nvme's SSH client and
// iscsi_powerstore's REST client are loaded this way (docs/architecture.md).
//
// The library exports one extern "C" entry point returning a static table whose first member is
// `size_t size` (its sizeof as the library was built), so a library of another build is refused
// rather than called.
#pragma once

#include <dlfcn.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "polycsi/types.hpp"

namespace polycsi {

// What to load and how to name it in errors. `anchor`: the address of a function with internal
// linkage in the plugin (an anonymous-namespace function of the caller's .cc), so that dladdr
// names the plugin's own object and not another object that shares an inline symbol.
struct CompanionLibrary {
  const char* plugin;      // "rds_nvme", for messages
  const char* what;        // "SSH library", for messages
  const char* file;        // "libpolycsi_rds_nvme_ssh.so"
  const char* entryPoint;  // the exported function returning the table
  const void* anchor;
};

namespace companion_detail {

// ../lib/<file> beside the object holding `anchor`: the plugin (plugins/) or an executable that
// links the plugin's objects (bin/).
inline std::string pathBeside(const CompanionLibrary& library) {
  Dl_info info{};
  if (dladdr(library.anchor, &info) == 0 || info.dli_fname == nullptr)
    throw Error(Code::kFailedPrecondition, std::string("cannot find where the ") + library.plugin +
                                               " plugin was loaded from, to load " + library.file +
                                               " beside it");
  std::error_code ec;
  std::filesystem::path self = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) self = info.dli_fname;
  return (self.parent_path() / ".." / "lib" / library.file).lexically_normal().string();
}

template <typename Module>
const Module* open(const CompanionLibrary& library, const std::string& path, std::string& error) {
  // RTLD_LOCAL: the library's dependencies (libssh, libcurl, their TLS libraries) stay out of
  // the other plugins' way.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  const std::string named = std::string("the ") + library.plugin + " " + library.what + " " + path;
  if (handle == nullptr) {
    const char* why = dlerror();
    error = "cannot load " + named + " (" + (why != nullptr ? why : "unknown error") +
            "); it is installed with the plugin, in ../lib beside the plugin directory";
    return nullptr;
  }
  using Entry = const Module* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, library.entryPoint));
  const Module* module = entry != nullptr ? entry() : nullptr;
  if (module == nullptr || module->size != sizeof(Module)) {
    dlclose(handle);
    error = named + " does not match this plugin (no " + library.entryPoint +
            " of this build): install both from the same build";
    return nullptr;
  }
  return module;  // never unloaded: the library's globals live until the process exits
}

}  // namespace companion_detail

// The library's table, loaded on the first call. A failure is remembered, so a missing library
// is one clear FAILED_PRECONDITION per call (naming the file and where it was looked for) and not
// a dlopen per call. THREADING: any thread. One `Module` type per companion library.
template <typename Module>
const Module& companionLibrary(const CompanionLibrary& library) {
  static std::once_flag once;
  static const Module* loaded = nullptr;
  static std::string error;
  std::call_once(once, [&] {
    try {
      loaded =
          companion_detail::open<Module>(library, companion_detail::pathBeside(library), error);
    } catch (const Error& e) {
      error = e.what();
    }
  });
  if (loaded == nullptr) throw Error(Code::kFailedPrecondition, error);
  return *loaded;
}

}  // namespace polycsi
