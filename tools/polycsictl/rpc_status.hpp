// gRPC statuses as polycsictl reports them: "CODE: message", e.g.
// "FAILED_PRECONDITION: Volume pvc-1 is attached to node-a". Pure functions, thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <string>

namespace polycsi::csictl {

// Upper-case canonical name of a gRPC code, e.g. "FAILED_PRECONDITION"; "CODE_<n>" for a
// number outside the canonical set.
std::string statusCodeName(grpc::StatusCode code);

// "CODE: message", or just "CODE" when the server sent no message.
std::string formatRpcError(const grpc::Status& status);

}  // namespace polycsi::csictl
