// rpcbind (the portmapper, port 111) inside a test's private network namespace, with a private
// /run (its socket /run/rpcbind.sock, lock and state live in a temporary directory), so it
// never meets this machine's rpcbind. nfs-ganesha needs it to start NFSv3: it registers NFS
// and MOUNT there, and NFSv3 clients without fixed ports ask it where they are.
//
// THREADING: one thread at a time.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "child_process.hpp"
#include "network_namespace.hpp"
#include "temp_directory.hpp"

namespace polycsi::testing {

class RpcbindServer {
 public:
  // Makes the private /run (runDir()); starts nothing. `ns` must outlive this object.
  explicit RpcbindServer(const NetworkNamespace& ns);
  // Stops rpcbind; root_ then removes the temporary directory.
  ~RpcbindServer();
  RpcbindServer(const RpcbindServer&) = delete;
  RpcbindServer& operator=(const RpcbindServer&) = delete;

  // The reason rpcbind cannot run here (not installed), or "" when it can.
  static std::string unavailableReason();

  // Starts rpcbind in the foreground and waits (at most 10 s) until it accepts on port 111.
  // Registrations do not survive a stop: start it before the servers that register.
  // Throws std::runtime_error with its output when it does not come up.
  void start();
  // SIGTERM, SIGKILL after 5 s. Idempotent.
  void stop();
  bool running() const { return child_ && child_->running(); }

  // The directory that the processes of this namespace see as /run (nfs-ganesha gets it too,
  // so that it registers through rpcbind's unix socket).
  const std::string& runDir() const { return runDir_; }
  std::string output() const;

 private:
  const NetworkNamespace& ns_;
  TempDir root_;
  std::string runDir_;
  std::string outputPath_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace polycsi::testing
