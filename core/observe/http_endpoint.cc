#include "observe/http_endpoint.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cctype>
#include <charconv>
#include <chrono>

namespace polycsi::observe {
namespace {

// Scrapes and probes are tiny and infrequent; two workers are plenty.
constexpr size_t kServerThreads = 2;
constexpr std::chrono::seconds kIoTimeout{5};

Status badAddress(const std::string& address, const std::string& why) {
  return Status(Code::kInvalidArgument,
                "invalid listen address \"" + address + "\": " + why + " (expected host:port)");
}

}  // namespace

StatusOr<ListenAddress> parseListenAddress(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return badAddress(address, "missing port");
  std::string host = address.substr(0, colon);
  const std::string portText = address.substr(colon + 1);
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return badAddress(address, "unclosed bracket");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return badAddress(address, "an IPv6 host must be in brackets");
  }
  for (char c : host) {
    const bool allowed =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '%';
    if (!allowed) return badAddress(address, "invalid character in host");
  }
  int port = -1;
  auto [end, error] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (portText.empty() || error != std::errc() || end != portText.data() + portText.size() ||
      port < 0 || port > 65535) {
    return badAddress(address, "port must be a number from 0 to 65535");
  }
  return ListenAddress{host.empty() ? "0.0.0.0" : host, port};
}

HttpEndpoint::HttpEndpoint(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(const std::string& address,
                                                            const Metrics& metrics,
                                                            std::function<bool()> healthy) {
  StatusOr<ListenAddress> listen = parseListenAddress(address);
  if (!listen.isOk()) return listen.status();
  if (!healthy) return Status(Code::kInvalidArgument, "health check function is empty");

  auto server = std::make_unique<httplib::Server>();
  server->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second process bind the same
  // port and silently share the scrapes.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_read_timeout(kIoTimeout);
  server->set_write_timeout(kIoTimeout);
  server->Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics.render(), "text/plain; version=0.0.4");
  });
  server->Get("/healthz",
              [healthy = std::move(healthy)](const httplib::Request&, httplib::Response& response) {
                if (healthy()) {
                  response.set_content("ok", "text/plain");
                } else {
                  response.status = 503;
                  response.set_content("unhealthy", "text/plain");
                }
              });

  int port = listen->port;
  if (port == 0) {
    port = server->bind_to_any_port(listen->host);
    if (port <= 0) port = -1;
  } else if (!server->bind_to_port(listen->host, port)) {
    port = -1;
  }
  if (port < 0) {
    return Status(Code::kUnavailable, "cannot listen on " + address + " for metrics and health");
  }

  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint(std::move(server), port));
  HttpEndpoint* self = endpoint.get();
  endpoint->thread_ = std::thread([self] {
    self->server_->listen_after_bind();
    self->threadExited_ = true;
  });
  // httplib's stop() only interrupts a server that is already running: wait until it is, so
  // stop() right after start() cannot leave the thread blocked in accept().
  while (!self->server_->is_running() && !self->threadExited_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (self->threadExited_) {
    endpoint->stop();
    return Status(Code::kUnavailable, "metrics server on " + address + " stopped at start");
  }
  spdlog::info("serving /metrics and /healthz on {}:{}", listen->host, port);
  return endpoint;
}

void HttpEndpoint::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
}

HttpEndpoint::~HttpEndpoint() { stop(); }

}  // namespace polycsi::observe
