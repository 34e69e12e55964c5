// The attachment store's SQLite code lives in a shared library the driver loads only when it
// opens the store: libpolycsi_attachment_store.so (attachment_store_module.cc). A node never
// opens the store, and libsqlite3 as a needed library of the executable cost every node some
// 0.25 MiB resident for relocation and symbol lookup alone (bench/README.md).
//
// The module is built from this tree with the same compiler and standard library as the driver,
// so the table below passes C++ types; it is not a plugin interface and has no ABI promise
// beyond one build (its `size` refuses a module of another build that has the same entry point).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "attach/attachment_state.hpp"
#include "attach/attachment_store.hpp"
#include "polycsi/types.hpp"

namespace polycsi::attach {

// What the module provides; AttachmentStore's methods, in the same words, over an open store.
// Every function may be called from any thread (the module's store has its own mutex).
struct StoreLibrary {
  size_t size;  // sizeof(StoreLibrary) as the module was built
  // AttachmentStore::open. On success the store belongs to the caller, who ends it with close.
  StatusOr<SqliteAttachmentStore*> (*open)(const std::string& path,
                                           const AttachmentStore::Options& options);
  Status (*save)(SqliteAttachmentStore& store, const VolumeAttachmentState& state);
  StatusOr<std::vector<VolumeAttachmentState>> (*loadAll)(const SqliteAttachmentStore& store);
  // Finalizes the statements and closes the connection; `store` is gone afterwards.
  void (*close)(SqliteAttachmentStore* store);
};

// The module's path: ../lib/libpolycsi_attachment_store.so beside the running executable's real
// path, as an install lays it out (<prefix>/lib/polycsi/{bin,lib}) and as the build does
// ({bin,lib}).
StatusOr<std::string> storeLibraryPath();

// Loads the module on the first call (thread-safe, once; it stays loaded) and returns its table.
// FAILED_PRECONDITION naming the path and dlerror() when it cannot be loaded; every later call
// gives the same answer.
StatusOr<const StoreLibrary*> storeLibrary();

// Loads the module at `path` (dlopen; it stays loaded) and returns its table: what
// storeLibrary() does once with storeLibraryPath(). FAILED_PRECONDITION naming the path when it
// cannot be loaded or is not the module of this build. Thread-safe.
StatusOr<const StoreLibrary*> loadStoreLibrary(const std::string& path);

}  // namespace polycsi::attach

// The module's one exported symbol: a function returning its table.
extern "C" const polycsi::attach::StoreLibrary* polycsi_attachment_store_library_v1();
