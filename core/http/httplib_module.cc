// libpolycsi_httplib.so: http_library.hpp's table over cpp-httplib (with OpenSSL). Loaded by
// http::library() on first use; the only part of the driver that links cpp-httplib.
#include <httplib.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "http/http_library.hpp"

namespace polycsi::http {
namespace {

// What a failed request's httplib error means, for the message.
std::string describeTransportError(httplib::Error error, const httplib::ClientImpl& client,
                                   const ClientRequest& request) {
  switch (error) {
    case httplib::Error::Connection:
      return "cannot connect";
    case httplib::Error::ConnectionTimeout:
      return "connect timed out";
    case httplib::Error::Read:
      return "reading the answer failed or timed out";
    case httplib::Error::Write:
      return "sending the request failed";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return request.caFile.empty() ? "cannot load the system's CA certificates"
                                    : "cannot load CA certificates from " + request.caFile;
    case httplib::Error::SSLServerVerification: {
      std::string why = "the API server's certificate is not trusted";
      if (request.tls) {
        const long result =
            static_cast<const httplib::SSLClient&>(client).get_openssl_verify_result();
        if (result != X509_V_OK)
          why += std::string(": ") + X509_verify_cert_error_string(result);
        else
          why += ": its names do not match the host";
      }
      return why;
    }
    default:
      return httplib::to_string(error);
  }
}

ClientResult send(const ClientRequest& in) {
  std::unique_ptr<httplib::ClientImpl> client;
  if (in.tls) {
    auto tls = std::make_unique<httplib::SSLClient>(in.host, in.port);
    if (!in.caFile.empty()) tls->set_ca_cert_path(in.caFile);
    tls->enable_server_certificate_verification(in.verifyServer);
    client = std::move(tls);
  } else {
    client = std::make_unique<httplib::ClientImpl>(in.host, in.port);
  }
  client->set_connection_timeout(in.timeout);
  client->set_read_timeout(in.timeout);
  client->set_write_timeout(in.timeout);
  client->set_follow_location(false);
  client->set_keep_alive(false);

  httplib::Request request;
  request.method = in.method;
  request.path = in.path;
  for (const auto& [name, value] : in.headers) request.headers.emplace(name, value);
  if (in.body != nullptr) request.body = *in.body;
  if (in.onBody) {
    request.content_receiver = [&in](const char* data, size_t length, uint64_t, uint64_t) {
      return in.onBody(data, length);
    };
  }
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  ClientResult result;
  result.answered = client->send(request, response, error);
  if (result.answered) {
    result.status = response.status;
  } else {
    result.transportError = describeTransportError(error, *client, in);
  }
  return result;
}

class HttplibServer final : public Server {
 public:
  HttplibServer(std::unique_ptr<httplib::Server> server, int port)
      : server_(std::move(server)), port_(port) {}
  ~HttplibServer() override { stop(); }
  int port() const override { return port_; }
  void stop() override {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }

  // Serves on a thread of its own; returns once the server accepts connections, false when it
  // stopped before (stop() right after start() would otherwise leave the thread in accept():
  // httplib's stop() only interrupts a server that is already running).
  bool run() {
    thread_ = std::thread([this] {
      server_->listen_after_bind();
      threadExited_ = true;
    });
    while (!server_->is_running() && !threadExited_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return !threadExited_;
  }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_;
  std::thread thread_;
  std::atomic<bool> threadExited_{false};
};

StatusOr<std::unique_ptr<Server>> serve(ServerOptions options, const std::string& what) {
  auto server = std::make_unique<httplib::Server>();
  const size_t threads = options.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // SO_REUSEADDR only: httplib's default SO_REUSEPORT would let a second process bind the same
  // port and silently share the requests.
  server->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->set_read_timeout(options.ioTimeout);
  server->set_write_timeout(options.ioTimeout);
  for (ServerRoute& route : options.routes) {
    server->Get(route.path, [answer = std::move(route.answer)](const httplib::Request&,
                                                               httplib::Response& response) {
      int status = 200;
      std::string body;
      std::string contentType = "text/plain";
      answer(status, body, contentType);
      response.status = status;
      response.set_content(body, contentType);
    });
  }

  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.host);
    if (port <= 0) port = -1;
  } else if (!server->bind_to_port(options.host, port)) {
    port = -1;
  }
  if (port < 0) return Status(Code::kUnavailable, "cannot listen on " + what);

  auto running = std::make_unique<HttplibServer>(std::move(server), port);
  if (!running->run()) return Status(Code::kUnavailable, "server on " + what + " stopped at start");
  return std::unique_ptr<Server>(std::move(running));
}

const Library kLibrary{&send, &serve};

}  // namespace
}  // namespace polycsi::http

__attribute__((visibility("default"))) const polycsi::http::Library* polycsi_httplib_library_v1() {
  return &polycsi::http::kLibrary;
}
