// A client connection to one CSI endpoint: a gRPC channel plus the Identity, Controller,
// GroupController and Node stubs, and a fresh per-call deadline for every RPC.
#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "csi.grpc.pb.h"

namespace polycsi::csictl {

// Turns a user-facing endpoint into a gRPC target. Accepted forms:
//   unix:///abs/path  unix:/abs/path  /abs/path   -> "unix:///abs/path" (a Unix socket)
//   host:port  [ipv6]:port                        -> itself (plaintext TCP)
// Throws std::invalid_argument for anything else (relative socket paths, missing or
// non-numeric ports, other schemes, NUL or whitespace), naming the endpoint.
std::string grpcTargetFromEndpoint(std::string_view endpoint);

// Owns the channel and stubs. The channel connects lazily on the first RPC; an unreachable
// endpoint shows up as UNAVAILABLE from that RPC. CSI has no transport security on its Unix
// socket, so the channel is plaintext. Thread-safe: stubs and newCallContext() may be used
// from several threads at once (each call needs its own context). Not copyable.
class CsiConnection {
 public:
  // Throws std::invalid_argument for a bad endpoint or a non-positive timeout.
  CsiConnection(std::string_view endpoint, std::chrono::milliseconds call_timeout);
  CsiConnection(const CsiConnection&) = delete;
  CsiConnection& operator=(const CsiConnection&) = delete;

  // A context whose deadline is now + call_timeout. One per RPC; the caller owns it.
  std::unique_ptr<grpc::ClientContext> newCallContext() const;

  csi::v1::Identity::StubInterface& identity() { return *identity_; }
  csi::v1::Controller::StubInterface& controller() { return *controller_; }
  csi::v1::Node::StubInterface& node() { return *node_; }
  csi::v1::GroupController::StubInterface& groupController() { return *group_controller_; }

  const std::string& target() const { return target_; }
  std::chrono::milliseconds callTimeout() const { return call_timeout_; }

 private:
  std::string target_;
  std::chrono::milliseconds call_timeout_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<csi::v1::Identity::StubInterface> identity_;
  std::unique_ptr<csi::v1::Controller::StubInterface> controller_;
  std::unique_ptr<csi::v1::Node::StubInterface> node_;
  std::unique_ptr<csi::v1::GroupController::StubInterface> group_controller_;
};

}  // namespace polycsi::csictl
