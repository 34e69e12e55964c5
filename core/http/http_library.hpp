// HTTP(S) for the driver's Kubernetes API client through a shared library the driver loads only
// when it first calls the API: libpolycsi_httplib.so, an adapter over
// cpp-httplib. Debian builds cpp-httplib with OpenSSL, and loading it maps libssl and libcrypto
// and initialises OpenSSL (some 3-4.7 MiB resident, bench/README.md). A node, or a controller
// without a Kubernetes API, never loads it; /metrics and /healthz are served without it
// (observe/http_get_server.hpp).
//
// The module is built from this tree with the same compiler and standard library as the driver,
// so the table below passes C++ types; it is not a plugin interface and has no ABI promise
// beyond one build.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::http {

// One request as a client, on its own connection (no keep-alive, no redirects).
struct ClientRequest {
  bool tls = false;  // https: verify the server against caFile (or the system's CAs)
  std::string host;  // without brackets
  int port = 0;
  std::string caFile;                        // PEM bundle; empty = the system's CAs
  bool verifyServer = true;                  // false only for tests
  std::chrono::milliseconds timeout{10000};  // connect, each read and each write
  std::string method;                        // "GET", "POST"
  std::string path;                          // as sent, query included
  std::vector<std::pair<std::string, std::string>> headers;
  const std::string* body = nullptr;  // sent as is when not null; not owned
  // Receives the answer's body piece by piece; returning false stops reading and closes.
  std::function<bool(const char* data, size_t length)> onBody;
};

struct ClientResult {
  bool answered = false;       // an HTTP answer came (any status)
  int status = 0;              // its status when answered
  std::string transportError;  // when not answered: what failed, e.g. "TLS handshake failed"
};

// What the module provides. Every function is thread-safe.
struct Library {
  // Sends `request` and waits for the answer (or the failure).
  ClientResult (*send)(const ClientRequest& request);
};

// The module's path: ../lib/libpolycsi_httplib.so beside the running executable's real path,
// as an install lays it out (<prefix>/lib/polycsi/{bin,lib}) and as the build does ({bin,lib}).
StatusOr<std::string> libraryPath();

// Loads the module on the first call (thread-safe, once; it stays loaded) and returns its table.
// FAILED_PRECONDITION naming the path and dlerror() when it cannot be loaded; every later call
// gives the same answer.
StatusOr<const Library*> library();

// Loads the module at `path` (dlopen; it stays loaded) and returns its table: what library()
// does once with libraryPath(). FAILED_PRECONDITION naming the path when it cannot be loaded or
// is not the module. Thread-safe.
StatusOr<const Library*> loadLibrary(const std::string& path);

// Whether library() has loaded the module in this process (for tests and logs).
bool libraryLoaded();

}  // namespace polycsi::http

// The module's one exported symbol: a function returning its table.
extern "C" const polycsi::http::Library* polycsi_httplib_library_v1();
