#include "observe/http_endpoint.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <chrono>

namespace polycsi::observe {
namespace {

// Scrapes and probes are tiny and infrequent: a few at once from Prometheus and the kubelet.
constexpr size_t kMaxConnections = 16;
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

HttpEndpoint::HttpEndpoint(std::unique_ptr<HttpGetServer> server) : server_(std::move(server)) {}

StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::start(const std::string& address,
                                                            const Metrics& metrics,
                                                            std::function<bool()> healthy) {
  StatusOr<ListenAddress> listen = parseListenAddress(address);
  if (!listen.isOk()) return listen.status();
  if (!healthy) return Status(Code::kInvalidArgument, "health check function is empty");

  HttpGetServerOptions options;
  options.host = listen->host;
  options.port = listen->port;
  options.maxConnections = kMaxConnections;
  options.ioTimeout = kIoTimeout;
  options.routes.push_back({"/metrics", [&metrics](int&, std::string& body, std::string& type) {
                              body = metrics.render();
                              type = "text/plain; version=0.0.4";
                            }});
  options.routes.push_back(
      {"/healthz", [healthy = std::move(healthy)](int& status, std::string& body, std::string&) {
         if (healthy()) {
           body = "ok";
         } else {
           status = 503;
           body = "unhealthy";
         }
       }});
  StatusOr<std::unique_ptr<HttpGetServer>> server =
      HttpGetServer::start(std::move(options), address + " for metrics and health");
  if (!server.isOk()) return server.status();
  std::unique_ptr<HttpEndpoint> endpoint(new HttpEndpoint(std::move(*server)));
  spdlog::info("serving /metrics and /healthz on {}:{}", listen->host, endpoint->port());
  return endpoint;
}

void HttpEndpoint::stop() { server_->stop(); }

HttpEndpoint::~HttpEndpoint() { stop(); }

}  // namespace polycsi::observe
