// A small HTTP/1.x server that answers GET and HEAD of a fixed set of paths, for /metrics and
// /healthz. It exists so that serving them brings no library into the process: Debian's
// cpp-httplib links and initialises OpenSSL when loaded (some 4.7 MiB resident in a node,
// bench/README.md), and Debian's civetweb is built without IPv6.
//
// What it accepts, and what it answers otherwise:
//   - one request per connection, always answered with "Connection: close";
//   - a request line "METHOD SP target SP HTTP/1.0|HTTP/1.1" and header lines "name: value",
//     ended by an empty line, all CRLF-terminated; otherwise 400;
//   - the request line and headers together at most maxRequestBytes, and at most maxHeaders
//     header lines; otherwise 431;
//   - no body (Content-Length other than 0, or Transfer-Encoding): 400;
//   - GET and HEAD only: another method is 405 with "Allow: GET, HEAD";
//   - the target's path (without "?query") must equal a route's path: otherwise 404.
// Bounds: one thread serves every connection (non-blocking sockets, poll); at most
// maxConnections at once (one more is answered 503 and closed); each connection must send its
// request and take its answer within ioTimeout of being accepted, or is closed.
// THREADING: start/stop from one thread; routes run on the server's thread, one at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "polycsi/types.hpp"

namespace polycsi::observe {

// A route: fills the answer of a GET (or HEAD) of its path. status is 200 unless set.
struct HttpGetRoute {
  std::string path;
  std::function<void(int& status, std::string& body, std::string& contentType)> answer;
};

struct HttpGetServerOptions {
  std::string host;  // name or literal to bind, without brackets; "0.0.0.0" for every interface
  int port = 0;      // 0 = an ephemeral port
  std::vector<HttpGetRoute> routes;
  size_t maxConnections = 16;
  size_t maxRequestBytes = 8192;  // request line and headers, CRLFs included
  size_t maxHeaders = 64;
  std::chrono::milliseconds ioTimeout{5000};  // from accept to the answer's last byte
};

class HttpGetServer {
 public:
  // Binds (resolving options.host), listens and starts the server's thread. `what` names the
  // server in messages. UNAVAILABLE naming `what` when the host cannot be resolved or no address
  // can be bound; INVALID_ARGUMENT for a limit of zero or a route without a path or function.
  static StatusOr<std::unique_ptr<HttpGetServer>> start(HttpGetServerOptions options,
                                                        const std::string& what);

  // The bound port.
  int port() const { return port_; }

  // Stops accepting, closes every connection and joins the thread. Idempotent.
  void stop();
  ~HttpGetServer();

  HttpGetServer(const HttpGetServer&) = delete;
  HttpGetServer& operator=(const HttpGetServer&) = delete;

 private:
  struct Connection;
  HttpGetServer(HttpGetServerOptions options, int listenFd, int wakeFd, int port);
  void run();
  void acceptConnections(std::vector<Connection>& connections);
  // Reads what the connection sent; once the request is complete (or cannot be), prepares the
  // answer. False when the connection is done with.
  bool readRequest(Connection& connection);
  bool writeAnswer(Connection& connection);
  void answer(Connection& connection);

  const HttpGetServerOptions options_;
  const int listenFd_;
  const int wakeFd_;  // eventfd: stop() wakes the thread's poll
  const int port_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

// The answer to `request` (request line and headers, ending in the empty line) by the rules
// above, as bytes to send: status line, headers and, unless the method is HEAD, the body.
// Exposed for tests; HttpGetServer calls it for every complete request.
std::string answerHttpGet(const std::string& request, const HttpGetServerOptions& options);

}  // namespace polycsi::observe
