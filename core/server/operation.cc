#include "server/operation.hpp"

#include <spdlog/spdlog.h>

#include "server/grpc_status.hpp"

namespace polycsi::server {
namespace {

constexpr std::chrono::minutes kDefaultTimeout{2};
constexpr std::chrono::minutes kMaxTimeout{10};

std::chrono::milliseconds timeoutOf(const grpc::ServerContext* rpc) {
  if (rpc == nullptr) return kDefaultTimeout;
  auto deadline = rpc->deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return kDefaultTimeout;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::system_clock::now());
  if (left.count() <= 0) return std::chrono::milliseconds(1);
  return std::min<std::chrono::milliseconds>(left, kMaxTimeout);
}

}  // namespace

Operation::Operation(DriverContext& driver, const char* method, const grpc::ServerContext* rpc)
    : driver_(driver), method_(method), started_(std::chrono::steady_clock::now()) {
  call_.timeout = timeoutOf(rpc);
  call_.start = started_;
  // The flag also follows the RPC's own deadline (the caller's, or the clamped default when
  // it set none), so a plugin polling only the flag stops in time too.
  cancellation_ = driver_.cancellation.watch(
      rpc, std::chrono::system_clock::now() +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(call_.timeout));
  call_.cancelled = cancellation_->flag();
}

grpc::Status Operation::finish(const Status& status) {
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  driver_.metrics.recordOperation(method_, status.code(), backend_, seconds);
  if (status.isOk()) {
    spdlog::debug("{} {} ok ({:.3f}s)", method_, subject_, seconds);
  } else if (status.code() == Code::kInternal || status.code() == Code::kUnknown ||
             status.code() == Code::kUnavailable || status.code() == Code::kDeadlineExceeded) {
    spdlog::error("{} {} failed: {} ({:.3f}s)", method_, subject_, status.toString(), seconds);
  } else {
    spdlog::info("{} {}: {} ({:.3f}s)", method_, subject_, status.toString(), seconds);
  }
  return toGrpc(status);
}

}  // namespace polycsi::server
