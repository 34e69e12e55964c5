// Counts the outcome of every CSI call a reliability test makes (attempts, not operations):
// how many answered OK and how many failed with each gRPC code, for the figures the tests print
// and docs/reliability.md reports.
//
// THREADING: thread-safe; the soak's workers share one.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "rpc_status.hpp"  // tools/polycsictl

namespace polycsi::reliability {

// The canonical name of a gRPC code, as CSI documents them ("UNAVAILABLE"): polycsictl's.
inline std::string codeName(grpc::StatusCode code) { return csictl::statusCodeName(code); }

class StatusTally {
 public:
  void record(const grpc::Status& status);
  // Operations (a call and its retries) that converged to OK, and that gave up.
  void operationConverged() { ++converged_; }
  void operationGaveUp() { ++gaveUp_; }

  int attempts() const;
  int failures() const;  // attempts that did not answer OK
  int converged() const { return converged_.load(); }
  int gaveUp() const { return gaveUp_.load(); }
  std::map<std::string, int> failuresByCode() const;
  // "attempts=…, failed=…, by code: UNAVAILABLE=3 INTERNAL=1" (codes sorted by name).
  std::string summary() const;

 private:
  mutable std::mutex mu_;
  int ok_ = 0;
  std::map<std::string, int> failures_;
  std::atomic<int> converged_{0};
  std::atomic<int> gaveUp_{0};
};

}  // namespace polycsi::reliability
