#include "status_tally.hpp"

#include <sstream>

namespace polycsi::reliability {

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
