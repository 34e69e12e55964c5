// One RPC in flight: derives the plugin call's deadline from the gRPC deadline, watches the RPC
// for cancellation (client gone, deadline passed, shutdown; see CallCancellation), and on finish
// records polycsi_operations_total / polycsi_operation_duration_seconds and logs the outcome
// (method, ids and code; never request bodies, which may carry secrets).
// Not thread-safe; one per RPC.
#pragma once

#include <grpcpp/server_context.h>

#include <chrono>
#include <memory>
#include <string>

#include "polycsi/types.hpp"
#include "server/call_cancellation.hpp"
#include "server/driver_context.hpp"

namespace polycsi::server {

class Operation {
 public:
  Operation(DriverContext& driver, const char* method, const grpc::ServerContext* rpc);

  // Names what the operation acts on, for logs and the metrics' backend label.
  void setBackend(const std::string& backend) { backend_ = backend; }
  void setSubject(const std::string& subject) { subject_ = subject; }

  // The context for plugin calls: the RPC's remaining time (at most 10 minutes; 2 minutes when
  // the caller set no deadline) and a flag that is set once the client cancels or goes away,
  // the RPC's deadline passes or the driver shuts down. Valid while this Operation lives.
  const Call& call() const { return call_; }

  // Records and logs the outcome; returns it as a gRPC status.
  grpc::Status finish(const Status& status);

 private:
  DriverContext& driver_;
  const char* method_;
  std::string backend_;
  std::string subject_;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<CallCancellation::Watch> cancellation_;  // call_.cancelled points into it
  Call call_;
};

}  // namespace polycsi::server
