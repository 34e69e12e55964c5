#include "observe/http_get_server.hpp"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace polycsi::observe {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

HttpGetServerOptions twoRoutes() {
  HttpGetServerOptions options;
  options.host = "127.0.0.1";
  options.routes.push_back({"/metrics", [](int&, std::string& body, std::string& type) {
                              body = "up 1\n";
                              type = "text/plain; version=0.0.4";
                            }});
  options.routes.push_back({"/healthz", [](int& status, std::string& body, std::string&) {
                              status = 503;
                              body = "unhealthy";
                            }});
  return options;
}

TEST(AnswerHttpGetTest, AnswersARouteWithItsStatusTypeAndBody) {
  const std::string answer =
      answerHttpGet("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", twoRoutes());
  EXPECT_EQ(answer,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: 5\r\n"
            "Connection: close\r\n\r\nup 1\n");
  EXPECT_THAT(answerHttpGet("GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", twoRoutes()),
              StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
}

TEST(AnswerHttpGetTest, HeadHasTheHeadersWithoutTheBody) {
  const std::string answer = answerHttpGet("HEAD /metrics HTTP/1.1\r\n\r\n", twoRoutes());
  EXPECT_THAT(answer, HasSubstr("Content-Length: 5\r\n"));
  EXPECT_THAT(answer, testing::EndsWith("\r\n\r\n"));
}

TEST(AnswerHttpGetTest, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT"}) {
    const std::string answer =
        answerHttpGet(std::string(method) + " /metrics HTTP/1.1\r\n\r\n", twoRoutes());
    EXPECT_THAT(answer, StartsWith("HTTP/1.1 405 Method Not Allowed\r\n")) << method;
    EXPECT_THAT(answer, HasSubstr("\r\nAllow: GET, HEAD\r\n")) << method;
  }
}

TEST(AnswerHttpGetTest, UnknownPathsAre404) {
  for (const char* target : {"/", "/metrics/", "/metricsx", "/healthz/../metrics", "/%6detrics"}) {
    EXPECT_THAT(answerHttpGet(std::string("GET ") + target + " HTTP/1.1\r\n\r\n", twoRoutes()),
                StartsWith("HTTP/1.1 404 Not Found\r\n"))
        << target;
  }
}

TEST(AnswerHttpGetTest, MalformedRequestsAre400) {
  for (const char* request : {
           "GET /metrics\r\n\r\n",                                 // no version
           "GET /metrics HTTP/2.0\r\n\r\n",                        // other version
           "GET  /metrics HTTP/1.1\r\n\r\n",                       // two spaces
           "GET metrics HTTP/1.1\r\n\r\n",                         // not origin-form
           "G(T /metrics HTTP/1.1\r\n\r\n",                        // not a token
           "GET /metrics HTTP/1.1\nHost: x\r\n\r\n",               // bare LF
           "GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",              // no colon
           "GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",  // obsolete folding
           "GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",            // space before the colon
           "GET /metrics HTTP/1.1\r\nContent-Length: 4\r\n\r\n",   // a body
           "GET /metrics HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
           "GET /metrics HTTP/1.1\r\n",  // not ended
           "\r\n\r\n",
       }) {
    EXPECT_THAT(answerHttpGet(request, twoRoutes()), StartsWith("HTTP/1.1 400 Bad Request\r\n"))
        << request;
  }
  EXPECT_THAT(answerHttpGet("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", twoRoutes()),
              StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(AnswerHttpGetTest, OversizedRequestsAndTooManyHeadersAre431) {
  HttpGetServerOptions options = twoRoutes();
  options.maxRequestBytes = 64;
  options.maxHeaders = 2;
  const std::string line = "GET /metrics HTTP/1.1\r\n";
  EXPECT_THAT(answerHttpGet(line + "A: 1\r\nB: 2\r\n\r\n", options), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(answerHttpGet(line + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", options),
              StartsWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
  EXPECT_THAT(answerHttpGet(line + "A: " + std::string(64, 'a') + "\r\n\r\n", options),
              StartsWith("HTTP/1.1 431 "));
}

TEST(AnswerHttpGetTest, ARouteThatThrowsIs500) {
  HttpGetServerOptions options;
  options.routes.push_back(
      {"/metrics", [](int&, std::string&, std::string&) { throw std::runtime_error("boom"); }});
  EXPECT_THAT(answerHttpGet("GET /metrics HTTP/1.1\r\n\r\n", options),
              StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
}

// A blocking client socket whose reads give up after 60 s, so that a server that never answers
// fails the test instead of hanging it.
int connectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{60, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

void sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server closed: what it answered is what counts
    sent += static_cast<size_t>(n);
  }
}

// Everything the server sends until it closes; "<timeout>" appended when it did not close,
// "<reset>" when it closed with a reset (unread input), "<error>" on another failure.
std::string readUntilClosed(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) return out;
    if (n < 0) {
      if (errno == EAGAIN) return out + "<timeout>";
      return out + (errno == ECONNRESET ? "<reset>" : "<error>");
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

TEST(HttpGetServerTest, AnswersOverTheWireAndClosesTheConnection) {
  auto server = HttpGetServer::start(twoRoutes(), "the test server");
  ASSERT_TRUE(server.isOk()) << server.status().toString();
  const int fd = connectTo((*server)->port());
  sendAll(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_THAT(readUntilClosed(fd), testing::EndsWith("Connection: close\r\n\r\nup 1\n"));
  close(fd);
}

TEST(HttpGetServerTest, AnOversizedRequestIs431WithoutWaitingForItsEnd) {
  HttpGetServerOptions options = twoRoutes();
  options.maxRequestBytes = 1024;
  options.ioTimeout = std::chrono::minutes(10);  // the answer must not wait for a timeout
  auto server = HttpGetServer::start(std::move(options), "the test server");
  ASSERT_TRUE(server.isOk());
  const int fd = connectTo((*server)->port());
  sendAll(fd, "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(4096, 'a'));
  EXPECT_THAT(readUntilClosed(fd), StartsWith("HTTP/1.1 431 "));
  close(fd);
}

TEST(HttpGetServerTest, ASlowClientIsClosedAtTheTimeoutAndBlocksNoOther) {
  HttpGetServerOptions options = twoRoutes();
  options.ioTimeout = std::chrono::milliseconds(300);
  auto server = HttpGetServer::start(std::move(options), "the test server");
  ASSERT_TRUE(server.isOk());
  const int slow = connectTo((*server)->port());
  sendAll(slow, "GET /metrics HTTP/1.1\r\n");  // and never the rest
  const int other = connectTo((*server)->port());
  sendAll(other, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(readUntilClosed(other), StartsWith("HTTP/1.1 200 OK\r\n"));
  // Closed without an answer (not "<timeout>": the client would give up after 60 s).
  EXPECT_THAT(readUntilClosed(slow), testing::AnyOf("", "<reset>"));
  close(slow);
  close(other);
}

TEST(HttpGetServerTest, ConnectionsBeyondTheLimitAre503) {
  HttpGetServerOptions options = twoRoutes();
  options.maxConnections = 1;
  options.ioTimeout = std::chrono::minutes(10);
  auto server = HttpGetServer::start(std::move(options), "the test server");
  ASSERT_TRUE(server.isOk());
  const int idle = connectTo((*server)->port());
  const int second = connectTo((*server)->port());
  EXPECT_THAT(readUntilClosed(second), StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  // The first still gets its answer.
  sendAll(idle, "GET /metrics HTTP/1.1\r\n\r\n");
  EXPECT_THAT(readUntilClosed(idle), StartsWith("HTTP/1.1 200 OK\r\n"));
  close(idle);
  close(second);
}

TEST(HttpGetServerTest, StopClosesOpenConnectionsAndIsIdempotent) {
  HttpGetServerOptions options = twoRoutes();
  options.ioTimeout = std::chrono::minutes(10);
  auto server = HttpGetServer::start(std::move(options), "the test server");
  ASSERT_TRUE(server.isOk());
  const int fd = connectTo((*server)->port());
  sendAll(fd, "GET /metr");
  (*server)->stop();
  (*server)->stop();
  // Closed, not answered: a reset when the server had not read the request yet.
  EXPECT_THAT(readUntilClosed(fd), testing::AnyOf("", "<reset>"));
  close(fd);
}

TEST(HttpGetServerTest, ServesAnIpv6Literal) {
  HttpGetServerOptions options = twoRoutes();
  options.host = "::1";
  auto server = HttpGetServer::start(std::move(options), "[::1]:0");
  if (!server.isOk()) GTEST_SKIP() << "no IPv6 loopback here: " << server.status().toString();
  const int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in6 address{};
  address.sin6_family = AF_INET6;
  address.sin6_port = htons(static_cast<uint16_t>((*server)->port()));
  address.sin6_addr = in6addr_loopback;
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  sendAll(fd, "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_THAT(readUntilClosed(fd), StartsWith("HTTP/1.1 503 "));
  close(fd);
}

TEST(HttpGetServerTest, RefusesZeroLimitsAndBadRoutes) {
  HttpGetServerOptions options = twoRoutes();
  options.maxConnections = 0;
  auto zero = HttpGetServer::start(options, "the test server");
  ASSERT_FALSE(zero.isOk());
  EXPECT_EQ(zero.status().code(), Code::kInvalidArgument);
  options = twoRoutes();
  options.routes.push_back({"metrics", nullptr});
  auto bad = HttpGetServer::start(options, "the test server");
  ASSERT_FALSE(bad.isOk());
  EXPECT_THAT(bad.status().message(), HasSubstr("\"metrics\""));
}

}  // namespace
}  // namespace polycsi::observe
