#include "http/http_library.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>

#include "module_path.hpp"

namespace polycsi::http {
namespace {

constexpr char kModuleFile[] = "libpolycsi_httplib.so";
constexpr char kEntryPoint[] = "polycsi_httplib_library_v1";

std::atomic<bool> loaded{false};

}  // namespace

StatusOr<const Library*> loadLibrary(const std::string& path) {
  // RTLD_LOCAL: cpp-httplib's and OpenSSL's symbols stay out of the plugins' way (a plugin may
  // bring its own TLS library).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(Code::kFailedPrecondition,
                  "cannot load the HTTP library " + path + " (" + (why ? why : "unknown error") +
                      "); it is installed beside the polycsi executable, in ../lib");
  }
  using Entry = const Library* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kEntryPoint));
  if (entry == nullptr || entry() == nullptr) {
    dlclose(handle);
    return Status(Code::kFailedPrecondition, "the HTTP library " + path + " has no " +
                                                 std::string(kEntryPoint) +
                                                 ": it is from another polycsi build");
  }
  spdlog::debug("loaded {}", path);
  return entry();
}

StatusOr<std::string> libraryPath() { return moduleBesideExecutable(kModuleFile); }

StatusOr<const Library*> library() {
  // Loaded once; a failure is remembered, so a missing module is one clear error per call and
  // not a dlopen per request.
  static std::once_flag once;
  static StatusOr<const Library*> result = Status(Code::kInternal, "not loaded");
  std::call_once(once, [] {
    StatusOr<std::string> path = libraryPath();
    result = path.isOk() ? loadLibrary(*path) : StatusOr<const Library*>(path.status());
    loaded = result.isOk();
  });
  return result;
}

bool libraryLoaded() { return loaded; }

}  // namespace polycsi::http
