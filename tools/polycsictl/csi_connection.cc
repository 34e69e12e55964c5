#include "csi_connection.hpp"

#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <cctype>
#include <stdexcept>

namespace polycsi::csictl {
namespace {

constexpr std::string_view kUnixScheme = "unix:";

[[noreturn]] void rejectEndpoint(std::string_view endpoint, const std::string& why) {
  throw std::invalid_argument("invalid endpoint '" + std::string(endpoint) + "': " + why +
                              " (expected unix:///path/to/csi.sock or host:port)");
}

std::string unixTarget(std::string_view endpoint, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    rejectEndpoint(endpoint, "the socket path must be absolute");
  }
  if (path.size() > 107) rejectEndpoint(endpoint, "the socket path is longer than 107 bytes");
  return "unix://" + std::string(path);
}

bool isPort(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value > 0 && value <= 65535;
}

}  // namespace

std::string grpcTargetFromEndpoint(std::string_view endpoint) {
  if (endpoint.empty()) rejectEndpoint(endpoint, "empty");
  for (const unsigned char c : endpoint) {
    if (std::isspace(c) || std::iscntrl(c)) {
      rejectEndpoint(endpoint, "contains whitespace or control characters");
    }
  }
  if (endpoint.substr(0, kUnixScheme.size()) == kUnixScheme) {
    std::string_view path = endpoint.substr(kUnixScheme.size());
    // unix:///abs (URI with empty authority) and unix:/abs name the same socket.
    if (path.substr(0, 2) == "//") path.remove_prefix(2);
    return unixTarget(endpoint, path);
  }
  if (endpoint.front() == '/') return unixTarget(endpoint, endpoint);
  if (endpoint.find("://") != std::string_view::npos) {
    rejectEndpoint(endpoint, "only the unix: scheme is supported");
  }

  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    rejectEndpoint(endpoint, "a TCP endpoint needs host:port");
  }
  const std::string_view host = endpoint.substr(0, colon);
  if (!isPort(endpoint.substr(colon + 1))) {
    rejectEndpoint(endpoint, "the port must be a number from 1 to 65535");
  }
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos) {
    rejectEndpoint(endpoint, "an IPv6 host must be written in brackets, e.g. [::1]:10000");
  }
  return std::string(endpoint);
}

CsiConnection::CsiConnection(std::string_view endpoint, std::chrono::milliseconds call_timeout)
    : target_(grpcTargetFromEndpoint(endpoint)), call_timeout_(call_timeout) {
  if (call_timeout_ <= std::chrono::milliseconds::zero()) {
    throw std::invalid_argument("the call timeout must be positive");
  }
  grpc::ChannelArguments arguments;
  // CSI plugins answer with large ListVolumes/ListSnapshots pages; do not cap at 4 MiB.
  arguments.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  channel_ = grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), arguments);
  identity_ = csi::v1::Identity::NewStub(channel_);
  controller_ = csi::v1::Controller::NewStub(channel_);
  node_ = csi::v1::Node::NewStub(channel_);
  group_controller_ = csi::v1::GroupController::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> CsiConnection::newCallContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + call_timeout_);
  return context;
}

}  // namespace polycsi::csictl
