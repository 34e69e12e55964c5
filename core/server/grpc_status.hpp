// Conversion of polycsi Status values into gRPC statuses (the codes are identical).
#pragma once

#include <grpcpp/support/status.h>

#include "polycsi/types.hpp"

namespace polycsi::server {

inline grpc::Status toGrpc(const Status& status) {
  if (status.isOk()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), status.message());
}

inline Status invalidArgument(const std::string& message) {
  return Status(Code::kInvalidArgument, message);
}

}  // namespace polycsi::server
