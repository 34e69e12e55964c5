// A small Kubernetes REST client over cpp-httplib (OpenSSL, loaded on the first request): JSON GET
// and POST with the service account's Bearer token, TLS verified against the cluster CA. Enough for
// events and VolumeAttachment reconciliation; not a general client (no watch, no patch).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "polycsi/types.hpp"

namespace polycsi::kube {

struct KubeConfig {
  std::string baseUrl;  // "https://host:port"; plain "http://" is accepted for local test servers
  std::string token;    // Bearer token; never logged
  // When set, the token is read again from this file (projected service-account tokens
  // rotate, and the kubelet rewrites the file): when the last read is older than
  // tokenRefresh, and at once after a 401, which is then retried once with the new token.
  std::string tokenFile;
  std::chrono::milliseconds tokenRefresh{60000};  // client-go re-reads every minute too
  std::string caFile;               // PEM bundle to verify the API server; empty = the system's CAs
  bool insecureSkipVerify = false;  // tests only
  std::chrono::milliseconds timeout{10000};  // whole request, connect included
};

// The in-cluster configuration: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (an IPv6
// host is bracketed) and <saDir>/token (also as tokenFile), <saDir>/ca.crt. nullopt when there
// is no token (not
// running in a cluster); a token without the environment variables is logged as a warning and
// also gives nullopt.
std::optional<KubeConfig> inClusterConfig(
    const std::string& saDir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The parts of an API URL: "https://host:port[/prefix]"; an IPv6 host is bracketed.
struct KubeEndpoint {
  bool tls = false;
  std::string host;        // without brackets
  int port = 0;            // 443 / 80 when the URL names none
  std::string authority;   // "host:port" as written, for the Host header
  std::string pathPrefix;  // "" or "/prefix", without a trailing slash
};
// INVALID_ARGUMENT naming the URL and what is wrong with it. Pure function; thread-safe.
StatusOr<KubeEndpoint> parseKubeUrl(const std::string& url);

// `text` percent-encoded for a URL query value or path segment (RFC 3986 unreserved kept).
std::string urlEncode(std::string_view text);

// THREADING: thread-safe; each call uses its own connection. Every call is bounded by
// KubeConfig::timeout.
class KubeClient {
 public:
  // A client for `config`; its token is registered with the log redactor
  // (observe::globalRedactor()). INVALID_ARGUMENT naming what is wrong for an unusable URL,
  // timeout or token. Connects to nothing: an unreachable API server shows in the first call.
  static StatusOr<std::unique_ptr<KubeClient>> create(KubeConfig config);
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // GET/POST <baseUrl><path> and parse the JSON answer. `path` must start with "/" and contain
  // no whitespace or control characters (INVALID_ARGUMENT otherwise). HTTP errors map to codes:
  // 404 NOT_FOUND, 401/403 PERMISSION_DENIED, 409 ALREADY_EXISTS, 400/422 INVALID_ARGUMENT,
  // 429/5xx and transport failures (connect, TLS, timeout) UNAVAILABLE, anything else UNKNOWN;
  // the message names the method, path, HTTP status and the API's Status.message.
  StatusOr<nlohmann::json> get(const std::string& path);
  StatusOr<nlohmann::json> post(const std::string& path, const nlohmann::json& body);

  // The configuration as given (its token is the first one; see currentToken()).
  const KubeConfig& config() const { return config_; }

 private:
  KubeClient(KubeConfig config, KubeEndpoint endpoint);

  StatusOr<nlohmann::json> request(const char* method, const std::string& path,
                                   const std::string* body);
  StatusOr<nlohmann::json> send(const char* method, const std::string& path,
                                const std::string* body, const std::string& token, int* httpStatus);
  // The token to send: re-read from tokenFile when `force` or when the last read is older
  // than tokenRefresh. A file that cannot be read, or is empty, keeps the token in use (logged).
  std::string currentToken(bool force);

  KubeConfig config_;
  KubeEndpoint endpoint_;
  std::mutex tokenMu_;
  std::string token_;                                  // guarded by tokenMu_
  std::chrono::steady_clock::time_point tokenReadAt_;  // guarded by tokenMu_
};

}  // namespace polycsi::kube
