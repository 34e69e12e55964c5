// The table of libpolycsi_iscsi_powerstore_rest.so: the plugin's HTTPS exchanges over libcurl,
// in a library of its own that the plugin loads only when it first calls the array's REST API
// (rest_module.cc).
//
// Why a separate library: libcurl brings some 40 shared objects (OpenSSL, GnuTLS, p11-kit,
// Kerberos, LDAP, ...) and their start-up code, about 9 MiB resident for the life of the
// process (bench/README.md). A node never calls the PowerStore REST API (only the controller
// does), so it should not pay for it.
//
// The module is built from this tree with the same compiler and standard library as the plugin,
// so the table passes C++ types. No exception crosses it: every failure comes back as a
// RestFailure, which the plugin side throws as Error again (type identity of exceptions across
// two libraries with hidden symbols is not something to rely on). It is not a plugin interface
// and has no ABI promise beyond one build.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "array_config.hpp"
#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {

// One HTTPS request to `array`, as RestClient::perform() makes it.
struct RestRequest {
  std::string method;  // GET, POST, PATCH, DELETE
  std::string path;    // below the endpoint, without a leading slash, with its query
  std::string body;    // JSON text; empty for none
  bool basic = false;  // Basic auth with the array's username and password
  // The session's token and cookie ("name=value"); both empty outside a session.
  std::string token;
  std::string cookie;
  // Bounds the exchange (each attempt's connect and transfer).
  std::chrono::milliseconds timeout{0};
};

// What the array answered (any HTTP status).
struct RestReply {
  long status = 0;
  std::string body;
  std::string setCookie;     // the Set-Cookie header's "name=value"
  std::string token;         // the DELL-EMC-TOKEN header
  std::string contentRange;  // the Content-Range header
};

// An exchange that got no HTTP answer, as the plugin side throws it: Error(code, message).
struct RestFailure {
  Code code = Code::kInternal;
  std::string message;
};

struct RestModule {
  // sizeof(RestModule) as the module was built; the loader refuses another size.
  size_t size;
  // Runs `request` against `array`: https only, TLS verified against array.caFile unless
  // array.skipCertificateValidation, a GET retried after a transport failure that may pass (up
  // to three attempts while `call` has at least 500 ms left). True and `reply` when the array
  // answered; false and `failure` (UNAVAILABLE, naming a certificate problem as such;
  // DEADLINE_EXCEEDED on a timeout; RESOURCE_EXHAUSTED when no handle can be made) when not.
  // THREADING: thread-safe; exchanges run concurrently.
  bool (*exchange)(const ArrayConfig& array, const RestRequest& request, const Call& call,
                   RestReply& reply, RestFailure& failure);
};

// The module's exported entry point (extern "C", default visibility, in libcurl_module.cc).
// Calling it initialises libcurl (curl_global_init) once; the loader calls it once.
inline constexpr char kRestModuleEntryPoint[] = "polycsi_iscsi_powerstore_rest_module_v1";
// Where it is: ../lib/<this> beside the object that holds the plugin's code (the plugin in
// plugins/, or an executable in bin/ that links the plugin's objects), as the build and an
// install lay them out.
inline constexpr char kRestModuleFile[] = "libpolycsi_iscsi_powerstore_rest.so";

// The loaded module: loads it on the first call (dlopen, never unloaded). Throws
// Error(FAILED_PRECONDITION) naming the library when it cannot be loaded or is of another
// build; the failure is remembered, so later calls throw the same error without retrying.
// THREADING: thread-safe.
const RestModule& restModule();

}  // namespace polycsi::iscsi_powerstore
