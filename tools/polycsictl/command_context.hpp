// State shared by every polycsictl command: the global flags, the CSI connection (made on
// first use) and the action chosen on the command line. Single-threaded: one per process.
#pragma once

#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "csi_connection.hpp"
#include "output.hpp"
#include "rpc_status.hpp"

namespace polycsi::csictl {

// Process exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRpcError = 1;
inline constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string endpoint;
  bool json = false;
  std::string timeout = "30s";
};

class CommandContext {
 public:
  using Action = std::function<int(CommandContext&)>;

  GlobalOptions& options() { return options_; }

  // Records the action of the leaf command that was parsed; called from CLI11 callbacks,
  // which run while parsing, so the action itself runs later through runSelected().
  void select(Action action) { action_ = std::move(action); }

  // Runs the selected action and returns its exit code. std::invalid_argument from it means
  // a usage error (bad flag value); the caller maps it to kExitUsage.
  int runSelected();

  // The connection for --endpoint/--timeout, created on first use. Throws
  // std::invalid_argument for a bad endpoint or timeout.
  CsiConnection& connection();

  // Performs one RPC: `rpc(grpc::ClientContext*, Response*)` must return the grpc::Status.
  // On success prints the response (JSON with --json, otherwise through `print_human`) and
  // returns kExitOk; on failure prints "CODE: message" to stderr and returns kExitRpcError.
  template <typename Response, typename Rpc, typename HumanPrinter>
  int call(Rpc&& rpc, HumanPrinter&& print_human) {
    CsiConnection& csi = connection();
    const std::unique_ptr<grpc::ClientContext> call_context = csi.newCallContext();
    Response response;
    const grpc::Status status = rpc(call_context.get(), &response);
    if (!status.ok()) {
      std::cerr << formatRpcError(status) << '\n';
      return kExitRpcError;
    }
    if (options_.json) {
      std::cout << toJson(response) << '\n';
    } else {
      print_human(response);
    }
    return kExitOk;
  }

 private:
  GlobalOptions options_;
  Action action_;
  std::unique_ptr<CsiConnection> connection_;
};

}  // namespace polycsi::csictl
