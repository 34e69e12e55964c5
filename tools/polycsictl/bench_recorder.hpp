// CallRecorder: the measured round trips of one benchmark worker, grouped by step (an RPC name,
// or an RPC and its role such as "ControllerPublishVolume(target)"), in the order the steps
// first ran.
//
// THREADING: not thread-safe; each worker thread owns one, and merge() combines them after
// the workers have joined.
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc_status.hpp"

namespace polycsi::csictl {

// Every measurement of one step.
struct StepSamples {
  std::string step;
  std::vector<double> latencies_ms;  // successful calls only
  int errors = 0;                    // failed calls (not in latencies_ms)
  std::string first_error;           // "CODE: message" of the first failure
};

class CallRecorder {
 public:
  // Runs `call` (a callable returning grpc::Status) and records its round trip under `step`:
  // the latency when it succeeded, an error otherwise. Returns the status.
  template <typename Call>
  grpc::Status time(std::string_view step, Call&& call) {
    const auto start = std::chrono::steady_clock::now();
    grpc::Status status = std::forward<Call>(call)();
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - start;
    StepSamples& samples = slot(step);
    if (status.ok()) {
      samples.latencies_ms.push_back(elapsed.count());
    } else {
      if (samples.errors++ == 0) samples.first_error = formatRpcError(status);
    }
    return status;
  }

  // Appends `other`'s samples, step by step (steps new to this recorder go last).
  void merge(const CallRecorder& other);

  const std::vector<StepSamples>& steps() const { return steps_; }

 private:
  StepSamples& slot(std::string_view step);

  std::vector<StepSamples> steps_;
};

}  // namespace polycsi::csictl
