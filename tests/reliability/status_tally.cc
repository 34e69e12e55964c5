#include "status_tally.hpp"

#include <sstream>

namespace polycsi::reliability {

std::string codeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "CODE_" + std::to_string(static_cast<int>(code));
  }
}

void StatusTally::record(const grpc::Status& status) {
  std::lock_guard lock(mu_);
  if (status.ok())
    ++ok_;
  else
    ++failures_[codeName(status.error_code())];
}

int StatusTally::attempts() const {
  std::lock_guard lock(mu_);
  int total = ok_;
  for (const auto& [code, count] : failures_) total += count;
  return total;
}

int StatusTally::failures() const {
  std::lock_guard lock(mu_);
  int total = 0;
  for (const auto& [code, count] : failures_) total += count;
  return total;
}

std::map<std::string, int> StatusTally::failuresByCode() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::string StatusTally::summary() const {
  std::ostringstream out;
  out << "calls=" << attempts() << " failed=" << failures() << " converged=" << converged()
      << " gave-up=" << gaveUp() << " failures by code:";
  auto byCode = failuresByCode();
  if (byCode.empty()) out << " none";
  for (const auto& [code, count] : byCode) out << ' ' << code << '=' << count;
  return out.str();
}

}  // namespace polycsi::reliability
