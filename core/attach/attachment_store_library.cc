// The store's library, and AttachmentStore over it.
#include "attach/attachment_store_library.hpp"

#include <dlfcn.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <utility>

#include "module_path.hpp"

namespace polycsi::attach {
namespace {

constexpr char kModuleFile[] = "libpolycsi_attachment_store.so";
constexpr char kEntryPoint[] = "polycsi_attachment_store_library_v1";

}  // namespace

StatusOr<const StoreLibrary*> loadStoreLibrary(const std::string& path) {
  // RTLD_LOCAL: SQLite's symbols stay out of the plugins' way (a plugin may bring its own).
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Status(Code::kFailedPrecondition,
                  "cannot load the attachment store library " + path + " (" +
                      (why ? why : "unknown error") +
                      "); it is installed beside the polycsi executable, in ../lib");
  }
  using Entry = const StoreLibrary* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kEntryPoint));
  const StoreLibrary* library = entry != nullptr ? entry() : nullptr;
  if (library == nullptr || library->size != sizeof(StoreLibrary)) {
    dlclose(handle);
    return Status(Code::kFailedPrecondition, "the attachment store library " + path + " has no " +
                                                 std::string(kEntryPoint) +
                                                 " of this build: install it from the same "
                                                 "build as the polycsi executable");
  }
  spdlog::debug("loaded {}", path);
  return library;  // never unloaded: open stores point into it
}

StatusOr<std::string> storeLibraryPath() { return moduleBesideExecutable(kModuleFile); }

StatusOr<const StoreLibrary*> storeLibrary() {
  // Loaded once; a failure is remembered, so every open names the same missing library.
  static std::once_flag once;
  static StatusOr<const StoreLibrary*> result = Status(Code::kInternal, "not loaded");
  std::call_once(once, [] {
    StatusOr<std::string> path = storeLibraryPath();
    result = path.isOk() ? loadStoreLibrary(*path) : StatusOr<const StoreLibrary*>(path.status());
  });
  return result;
}

// AttachmentStore: every call goes through the library's table.
AttachmentStore::AttachmentStore(const StoreLibrary& library, SqliteAttachmentStore* store,
                                 std::string path)
    : library_(library), store_(store), path_(std::move(path)) {}

AttachmentStore::~AttachmentStore() { library_.close(store_); }

StatusOr<std::unique_ptr<AttachmentStore>> AttachmentStore::open(const std::string& path) {
  return open(path, Options{});
}

StatusOr<std::unique_ptr<AttachmentStore>> AttachmentStore::open(const std::string& path,
                                                                 const Options& options) {
  StatusOr<const StoreLibrary*> library = storeLibrary();
  if (!library.isOk()) return library.status();
  StatusOr<SqliteAttachmentStore*> store = (*library)->open(path, options);
  if (!store.isOk()) return store.status();
  return std::unique_ptr<AttachmentStore>(new AttachmentStore(**library, *store, path));
}

Status AttachmentStore::save(const VolumeAttachmentState& state) {
  return library_.save(*store_, state);
}

StatusOr<std::vector<VolumeAttachmentState>> AttachmentStore::loadAll() const {
  return library_.loadAll(*store_);
}

}  // namespace polycsi::attach
