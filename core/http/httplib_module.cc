// libpolycsi_httplib.so: http_library.hpp's table over cpp-httplib (with OpenSSL). Loaded by
// http::library() on first use; the only part of the driver that links cpp-httplib.
#include <httplib.h>
#include <openssl/x509.h>

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

const Library kLibrary{&send};

}  // namespace
}  // namespace polycsi::http

__attribute__((visibility("default"))) const polycsi::http::Library* polycsi_httplib_library_v1() {
  return &polycsi::http::kLibrary;
}
