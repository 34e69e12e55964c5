// HTTPS client for one PowerStore array's REST API. The exchanges themselves run over libcurl in
// lib/libpolycsi_iscsi_powerstore_rest.so, loaded on the first call (rest_module.hpp): a process
// that never calls the array (a node) maps no libcurl.
//
// Security: the array's certificate is verified against the configured CA unless the array's
// config opts out with skipCertificateValidation. Session: GET login_session with Basic auth
// opens a session; every later call carries Basic auth, the session cookie and DELL-EMC-TOKEN. A
// 403 means the session expired: the client logs in again and resends the call once. A 401 is wrong
// credentials: PERMISSION_DENIED, no retry.
// Timeouts: every call is bounded by min(request timeout, the caller's remaining deadline).
// Queries: the array returns only `id` unless a GET names what it wants with `select`, and
// pages collections (Dell, PowerStore REST API Developers Guide, "Request parameters" and
// "Pagination"): getAll() reads every page, encode() makes a filter value safe in a URL.
// Retries: only GETs (idempotent reads) are retried after a transport failure, up to three
// attempts within the deadline; a modifying call is sent once (plus the one resend after a
// 403, which the array refused without acting on).
// THREADING: thread-safe; calls run concurrently, the session state is shared under a mutex.
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "array_config.hpp"
#include "polycsi/types.hpp"

namespace polycsi::iscsi_powerstore {

struct RestResponse {
  long status = 0;
  nlohmann::json body;       // null when the answer had no body
  std::string contentRange;  // the Content-Range header of a 206, "first-last/total"
};

// Told about every answered HTTP exchange (method, HTTP status), e.g. to count it in metrics.
// Called on the calling thread; must be thread-safe.
using RequestObserver = std::function<void(const std::string& method, long status)>;

class RestClient {
 public:
  RestClient(ArrayConfig array, std::chrono::milliseconds requestTimeout,
             RequestObserver observer = {});

  // Sends METHOD endpoint/path (path without a leading slash, with its query) and returns the
  // answer whatever its HTTP status, after the session handling above. Throws
  // Error(UNAVAILABLE) when the array cannot be reached (naming a certificate problem as such),
  // Error(PERMISSION_DENIED) on 401, Error(DEADLINE_EXCEEDED) when the call's time is up,
  // Error(FAILED_PRECONDITION) naming lib/libpolycsi_iscsi_powerstore_rest.so when the REST
  // library cannot be loaded.
  RestResponse send(const Call& call, const std::string& method, const std::string& path,
                    const nlohmann::json& body = nullptr);

  // Like send(), but a status outside 2xx throws Error with a code that fits it (404
  // NOT_FOUND, 422 FAILED_PRECONDITION, 400 INVALID_ARGUMENT, 5xx UNAVAILABLE) and the
  // array's first message, prefixed by `what`.
  nlohmann::json call(const Call& call, const std::string& method, const std::string& path,
                      const nlohmann::json& body = nullptr, const std::string& what = "");

  // Every object of a collection GET `path` (with its query, which must hold `select`): asks
  // for pages of up to 2000 (the array's largest) and follows 206 Partial Content with
  // Content-Range first-last/total until the last one, as dell/gopowerstore's
  // readPaginatedData does. Errors as call(); UNAVAILABLE when the array pages inconsistently
  // (a 206 without a valid Content-Range, or no progress).
  nlohmann::json getAll(const Call& call, const std::string& path, const std::string& what = "");

  // `value` percent-encoded for a URL query (RFC 3986: all but unreserved characters).
  static std::string encode(const std::string& value);

  // The array's first error message in a response body, or the HTTP status text.
  static std::string messageOf(const RestResponse& response);

  const ArrayConfig& array() const { return array_; }

 private:
  struct Session {
    std::string cookie;  // "name=value"
    std::string token;
    unsigned generation = 0;
  };
  // One HTTP exchange; `basic` adds Basic auth (login), `session` adds cookie and token.
  RestResponse perform(const Call& call, const std::string& method, const std::string& path,
                       const std::string& body, const Session* session, bool basic,
                       std::string* setCookie, std::string* token);
  // Throws the Error call() throws for a non-2xx `response`.
  [[noreturn]] void fail(const RestResponse& response, const std::string& method,
                         const std::string& path, const std::string& what) const;
  // Logs in unless another thread already renewed the session after `staleGeneration`.
  Session login(const Call& call, unsigned staleGeneration);
  Session currentSession(const Call& call);

  ArrayConfig array_;
  std::chrono::milliseconds requestTimeout_;
  RequestObserver observer_;
  std::mutex mu_;
  Session session_;
};

}  // namespace polycsi::iscsi_powerstore
