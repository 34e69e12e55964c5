// A real nfs-ganesha server for tests: ganesha.nfsd in the foreground, exporting two private
// directories (FSAL VFS) as /export and /other, with its config, log, pid file and NFSv4
// recovery directory in a private temporary directory. Stopped by its pid only (SIGTERM,
// SIGKILL after a bounded wait); also killed by the kernel if the test process dies
// (PR_SET_PDEATHSIG).
//
// Two ways to run:
// - NFSv4.0 only, bound to 127.0.0.1 on free ports of this machine (the default);
// - NFSv3 + MOUNT + NFSv4.0 inside a private network namespace (GaneshaOptions::ns), on the
//   fixed ports kNamespaceNfsPort and kNamespaceMountPort, registered with an RpcbindServer of
//   that namespace. ganesha refuses to start NFSv3 without rpcbind, and a private rpcbind needs
//   its own namespace: port 111 and /run/rpcbind.sock of this machine are not the tests'.
// In both, NFSv3 clients use the same share paths as NFSv4 clients (Mount_Path_Pseudo).
//
// THREADING: one thread at a time.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "child_process.hpp"
#include "network_namespace.hpp"
#include "rpcbind_server.hpp"

namespace polycsi::testing {

struct GaneshaOptions {
  // Run inside this namespace with NFSv3 and MOUNT enabled. rpcbind must be running there
  // whenever the server starts; afterwards it may stop (clients then need fixed ports).
  // Both must outlive the server.
  const NetworkNamespace* ns = nullptr;
  const RpcbindServer* rpcbind = nullptr;
};

class GaneshaServer {
 public:
  // Ports inside a private namespace: deliberately not 2049, so that a client which finds the
  // server must have asked the portmapper (NFSv3) or been told the port (NFSv4).
  static constexpr int kNamespaceNfsPort = 12049;
  static constexpr int kNamespaceMountPort = 12048;

  // Makes the temporary directory (with both export directories inside); starts nothing.
  // Throws std::invalid_argument when only one of ns and rpcbind is given.
  explicit GaneshaServer(GaneshaOptions options = {});
  // Stops the server; root_ then removes the temporary directory.
  ~GaneshaServer();
  GaneshaServer(const GaneshaServer&) = delete;
  GaneshaServer& operator=(const GaneshaServer&) = delete;

  // The reason ganesha cannot run here (not installed, not root), or "" when it can.
  static std::string unavailableReason();

  // Starts the server and waits (at most 30 s) until it serves; the first start picks the
  // port, later starts reuse it and the same export directories. Throws std::runtime_error
  // with the log's tail when it does not come up (or, with NFSv3, when rpcbind is not running).
  void start();
  // SIGTERM, then SIGKILL after 10 s; waits for the exit. Idempotent.
  void stop();
  // SIGKILL at once, as a crash or the OOM killer would end it; waits for the exit. Idempotent.
  void kill();
  // SIGSTOP / SIGCONT: a stopped server keeps accepting connections (the kernel completes
  // them) but answers nothing: a hung server. stop() also resumes it.
  void pause();
  void resume();
  bool running() const { return child_ && child_->running(); }

  bool servesNfsV3() const { return options_.ns != nullptr; }
  int nfsPort() const { return nfsPort_; }
  // The MOUNT port (NFSv3 only; 0 otherwise).
  int mountPort() const { return mountPort_; }
  // The exported directory on this machine, to check what the plugin did.
  const std::string& exportDir() const { return exportDir_; }
  // The path clients use as the share.
  static const char* share() { return "/export"; }
  // A second export of the same server, for per-StorageClass share overrides.
  const std::string& otherExportDir() const { return otherExportDir_; }
  static const char* otherShare() { return "/other"; }
  std::string log() const;

 private:
  void writeConfig() const;

  GaneshaOptions options_;
  TempDir root_;
  std::string exportDir_;
  std::string otherExportDir_;
  std::string configPath_;
  std::string logPath_;
  std::string pidPath_;
  int nfsPort_ = 0;
  int mountPort_ = 0;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace polycsi::testing
