// The driver's HTTP endpoint for Prometheus and liveness probes:
//   GET /metrics   Metrics::render(), Content-Type "text/plain; version=0.0.4"
//   GET /healthz   200 "ok" while healthy() returns true, else 503 "unhealthy"
// Served by HttpGetServer (http_get_server.hpp: GET and HEAD only, bounded requests and
// connections, one thread), which brings no library into the process; anything else is 404.
// THREADING: start/stop from one thread; the handlers call `metrics` and `healthy` from the
// server's thread, so both must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "observe/http_get_server.hpp"
#include "observe/metrics.hpp"
#include "polycsi/types.hpp"

namespace polycsi::observe {

// "host:port" split; host may be a bracketed IPv6 literal ("[::1]:9090") or empty (":9090",
// every interface). INVALID_ARGUMENT naming the address when malformed or the port is not
// 0..65535.
struct ListenAddress {
  std::string host;
  int port = 0;
};
StatusOr<ListenAddress> parseListenAddress(const std::string& address);

class HttpEndpoint {
 public:
  // Binds `address` (port 0 = an ephemeral port, see port()) and starts serving. Does not own
  // `metrics`, which must outlive the endpoint. INVALID_ARGUMENT for a malformed address,
  // UNAVAILABLE when the address cannot be resolved or bound.
  static StatusOr<std::unique_ptr<HttpEndpoint>> start(const std::string& address,
                                                       const Metrics& metrics,
                                                       std::function<bool()> healthy);

  // The bound port.
  int port() const { return server_->port(); }

  // Stops accepting and waits for the server thread. Idempotent.
  void stop();
  ~HttpEndpoint();

  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

 private:
  explicit HttpEndpoint(std::unique_ptr<HttpGetServer> server);

  std::unique_ptr<HttpGetServer> server_;
};

}  // namespace polycsi::observe
