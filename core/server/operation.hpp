// One RPC in flight: derives the plugin call's deadline from the gRPC deadline, and on finish
// records polycsi_operations_total / polycsi_operation_duration_seconds and logs the outcome
// (method, ids and code; never request bodies, which may carry secrets).
// Not thread-safe; one per RPC.
#pragma once

#include <chrono>
#include <string>

#include <grpcpp/server_context.h>

#include "polycsi/types.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

class Operation {
 public:
  Operation(DriverContext& driver, const char* method, const grpc::ServerContext* rpc);

  // Names what the operation acts on, for logs and the metrics' backend label.
  void setBackend(const std::string& backend) { backend_ = backend; }
  void setSubject(const std::string& subject) { subject_ = subject; }

  // The context for plugin calls: the RPC's remaining time (at most 10 minutes; 2 minutes when
  // the caller set no deadline) and the driver's shutdown flag.
  const Call& call() const { return call_; }

  // Records and logs the outcome; returns it as a gRPC status.
  grpc::Status finish(const Status& status);

 private:
  DriverContext& driver_;
  const char* method_;
  std::string backend_;
  std::string subject_;
  Call call_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace polycsi::server
