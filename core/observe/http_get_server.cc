#include "observe/http_get_server.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace polycsi::observe {

using Clock = std::chrono::steady_clock;

struct HttpGetServer::Connection {
  enum class State { kReading, kWriting, kLingering };
  int fd = -1;
  Clock::time_point deadline;
  State state = State::kReading;
  std::string in;
  std::string out;
  size_t written = 0;
};

namespace {

// After the answer, how long to wait for the client to close before closing ourselves: closing
// with unread input would send a reset that can cut the answer short at the client.
constexpr std::chrono::milliseconds kLinger{1000};
constexpr std::string_view kEndOfHeaders = "\r\n\r\n";

const char* reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string formatAnswer(int status, const std::string& contentType, const std::string& body,
                         bool withBody, const char* extraHeader = nullptr) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  out += "Content-Type: " + contentType + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (extraHeader != nullptr) out += std::string(extraHeader) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (withBody) out += body;
  return out;
}

std::string errorAnswer(int status, bool withBody = true, const char* extraHeader = nullptr) {
  return formatAnswer(status, "text/plain; charset=utf-8", std::string(reasonPhrase(status)) + "\n",
                      withBody, extraHeader);
}

// RFC 9110 token characters, for methods and header names.
bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
    if (!ok || c == '\0') return false;
  }
  return true;
}

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

}  // namespace

std::string answerHttpGet(const std::string& request, const HttpGetServerOptions& options) {
  if (request.size() > options.maxRequestBytes) return errorAnswer(431);
  std::string_view rest(request);
  if (rest.size() < kEndOfHeaders.size() ||
      rest.substr(rest.size() - kEndOfHeaders.size()) != kEndOfHeaders) {
    return errorAnswer(400);
  }
  rest.remove_suffix(2);  // every line, the last header's included, now ends in one CRLF
  std::vector<std::string_view> lines;
  while (!rest.empty()) {
    const size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    // A bare CR or LF inside a line is how request smuggling starts: refuse it.
    if (line.find_first_of("\r\n") != std::string_view::npos) return errorAnswer(400);
    lines.push_back(line);
    rest.remove_prefix(end + 2);
  }
  if (lines.empty()) return errorAnswer(400);
  if (lines.size() - 1 > options.maxHeaders) return errorAnswer(431);

  const std::string_view requestLine = lines[0];
  const size_t firstSpace = requestLine.find(' ');
  const size_t secondSpace =
      firstSpace == std::string_view::npos ? firstSpace : requestLine.find(' ', firstSpace + 1);
  if (secondSpace == std::string_view::npos ||
      requestLine.find(' ', secondSpace + 1) != std::string_view::npos) {
    return errorAnswer(400);
  }
  const std::string_view method = requestLine.substr(0, firstSpace);
  const std::string_view target = requestLine.substr(firstSpace + 1, secondSpace - firstSpace - 1);
  const std::string_view version = requestLine.substr(secondSpace + 1);
  if (!isToken(method) || target.empty() || target.front() != '/' ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return errorAnswer(400);
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos || !isToken(lines[i].substr(0, colon))) {
      return errorAnswer(400);  // also obsolete line folding (a line starting with whitespace)
    }
    const std::string_view name = lines[i].substr(0, colon);
    const std::string_view value = trim(lines[i].substr(colon + 1));
    // This server never reads a body; one announced would be read as the next request.
    if (equalsIgnoringCase(name, "Transfer-Encoding")) return errorAnswer(400);
    if (equalsIgnoringCase(name, "Content-Length") && value != "0") return errorAnswer(400);
  }

  const bool head = method == "HEAD";
  if (method != "GET" && !head) return errorAnswer(405, true, "Allow: GET, HEAD");
  const std::string_view path = target.substr(0, target.find('?'));
  for (const HttpGetRoute& route : options.routes) {
    if (route.path != path) continue;
    int status = 200;
    std::string body;
    std::string contentType = "text/plain; charset=utf-8";
    try {
      route.answer(status, body, contentType);
    } catch (const std::exception& e) {
      spdlog::error("HTTP GET {}: {}", route.path, e.what());
      return errorAnswer(500, !head);
    }
    return formatAnswer(status, contentType, body, !head);
  }
  return errorAnswer(404, !head);
}

StatusOr<std::unique_ptr<HttpGetServer>> HttpGetServer::start(HttpGetServerOptions options,
                                                              const std::string& what) {
  if (options.maxConnections == 0 || options.maxRequestBytes == 0 ||
      options.ioTimeout.count() <= 0) {
    return Status(Code::kInvalidArgument, "HTTP server for " + what +
                                              ": connection, request and timeout limits must be "
                                              "greater than zero");
  }
  for (const HttpGetRoute& route : options.routes) {
    if (route.path.empty() || route.path.front() != '/' || !route.answer) {
      return Status(Code::kInvalidArgument, "HTTP server for " + what + ": route \"" + route.path +
                                                "\" needs a path starting with / and a function");
    }
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* addresses = nullptr;
  const std::string portText = std::to_string(options.port);
  const int resolved = getaddrinfo(options.host.c_str(), portText.c_str(), &hints, &addresses);
  if (resolved != 0) {
    return Status(Code::kUnavailable, "cannot resolve " + what + ": " + gai_strerror(resolved));
  }
  int listenFd = -1;
  std::string bindError = "no address";
  for (addrinfo* a = addresses; a != nullptr && listenFd < 0; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      bindError = std::strerror(errno);
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      bindError = std::strerror(errno);
      close(fd);
      continue;
    }
    listenFd = fd;
  }
  freeaddrinfo(addresses);
  if (listenFd < 0)
    return Status(Code::kUnavailable, "cannot listen on " + what + ": " + bindError);

  sockaddr_storage bound{};
  socklen_t boundLength = sizeof(bound);
  getsockname(listenFd, reinterpret_cast<sockaddr*>(&bound), &boundLength);
  const int port = bound.ss_family == AF_INET6
                       ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  const int wakeFd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakeFd < 0) {
    close(listenFd);
    return Status(Code::kUnavailable,
                  "HTTP server for " + what + ": eventfd: " + std::strerror(errno));
  }
  std::unique_ptr<HttpGetServer> server(
      new HttpGetServer(std::move(options), listenFd, wakeFd, port));
  server->thread_ = std::thread([s = server.get()] { s->run(); });
  return server;
}

HttpGetServer::HttpGetServer(HttpGetServerOptions options, int listenFd, int wakeFd, int port)
    : options_(std::move(options)), listenFd_(listenFd), wakeFd_(wakeFd), port_(port) {}

void HttpGetServer::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = write(wakeFd_, &one, sizeof(one));
  thread_.join();
  close(listenFd_);
  close(wakeFd_);
}

HttpGetServer::~HttpGetServer() { stop(); }

void HttpGetServer::run() {
  std::vector<Connection> connections;
  std::vector<pollfd> fds;
  while (!stopping_) {
    fds.clear();
    fds.push_back({wakeFd_, POLLIN, 0});
    fds.push_back({listenFd_, POLLIN, 0});
    Clock::time_point nextDeadline = Clock::time_point::max();
    for (const Connection& c : connections) {
      fds.push_back(
          {c.fd, static_cast<short>(c.state == Connection::State::kWriting ? POLLOUT : POLLIN), 0});
      nextDeadline = std::min(nextDeadline, c.deadline);
    }
    int timeoutMs = -1;
    if (nextDeadline != Clock::time_point::max()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(nextDeadline - Clock::now()).count();
      timeoutMs = static_cast<int>(std::clamp<int64_t>(left, 0, 60'000));
    }
    if (poll(fds.data(), fds.size(), timeoutMs) < 0) {
      if (errno == EINTR) continue;
      spdlog::error("HTTP server on port {}: poll: {}", port_, std::strerror(errno));
      break;
    }
    if (fds[0].revents != 0) break;  // stop()

    const Clock::time_point now = Clock::now();
    std::vector<Connection> open;
    open.reserve(connections.size());
    for (size_t i = 0; i < connections.size(); ++i) {
      Connection& c = connections[i];
      bool keep = true;
      const short events = fds[i + 2].revents;
      if (events != 0) {
        if (c.state == Connection::State::kReading) {
          keep = readRequest(c);
        } else if (c.state == Connection::State::kWriting) {
          keep = writeAnswer(c);
        } else {
          char discard[4096];
          const ssize_t n = recv(c.fd, discard, sizeof(discard), 0);
          keep = n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
        }
      }
      if (keep && now >= c.deadline) keep = false;  // too slow, or lingered enough
      if (keep) {
        open.push_back(std::move(c));
      } else {
        close(c.fd);
      }
    }
    connections = std::move(open);
    if (fds[1].revents != 0) acceptConnections(connections);
  }
  for (Connection& c : connections) close(c.fd);
}

void HttpGetServer::acceptConnections(std::vector<Connection>& connections) {
  while (true) {
    const int fd = accept4(listenFd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        // Out of descriptors or memory: leave the rest in the backlog for the next round.
        spdlog::warn("HTTP server on port {}: accept: {}", port_, std::strerror(errno));
      }
      return;
    }
    if (connections.size() >= options_.maxConnections) {
      // Best effort, without waiting: the slots are taken by connections that will be gone
      // within ioTimeout.
      const std::string busy = errorAnswer(503);
      [[maybe_unused]] ssize_t ignored = send(fd, busy.data(), busy.size(), MSG_NOSIGNAL);
      close(fd);
      continue;
    }
    Connection c;
    c.fd = fd;
    c.deadline = Clock::now() + options_.ioTimeout;
    connections.push_back(std::move(c));
  }
}

bool HttpGetServer::readRequest(Connection& c) {
  char buffer[4096];
  while (true) {
    const ssize_t n = recv(c.fd, buffer, sizeof(buffer), 0);
    if (n == 0) return false;  // closed before a complete request: nothing to answer
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.in.append(buffer, static_cast<size_t>(n));
    const size_t end = c.in.find(kEndOfHeaders);
    if (end != std::string::npos) {
      c.in.resize(end + kEndOfHeaders.size());  // anything after it is ignored
      answer(c);
      return writeAnswer(c);
    }
    if (c.in.size() > options_.maxRequestBytes) {
      answer(c);  // 431 by size
      return writeAnswer(c);
    }
  }
}

void HttpGetServer::answer(Connection& c) {
  c.out = answerHttpGet(c.in, options_);
  c.in.clear();
  c.in.shrink_to_fit();
  c.state = Connection::State::kWriting;
}

bool HttpGetServer::writeAnswer(Connection& c) {
  while (c.written < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.written, c.out.size() - c.written, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.written += static_cast<size_t>(n);
  }
  shutdown(c.fd, SHUT_WR);
  c.state = Connection::State::kLingering;
  c.out.clear();
  c.out.shrink_to_fit();
  c.deadline = std::min(c.deadline, Clock::now() + kLinger);
  return true;
}

}  // namespace polycsi::observe
