// A real nfs-ganesha server for tests: ganesha.nfsd in the foreground, bound to 127.0.0.1 on
// free ports, exporting a private directory (FSAL VFS) as pseudo path /export over NFSv4.0,
// with its config, log, pid file and NFSv4 recovery directory in a private temporary
// directory. Stopped by its pid only (SIGTERM, SIGKILL after a bounded wait); also killed by
// the kernel if the test process dies (PR_SET_PDEATHSIG).
//
// Why NFSv4 only: ganesha refuses to start NFSv3 without registering with rpcbind, and a
// private rpcbind cannot run here without taking the machine's port 111 and socket.
//
// THREADING: one thread at a time.
#pragma once

#include <sys/types.h>

#include <string>

namespace polycsi::nfs::testing {

class GaneshaServer {
 public:
  // Makes the temporary directory (with export/ inside); does not start anything.
  GaneshaServer();
  // Stops the server and removes the temporary directory.
  ~GaneshaServer();
  GaneshaServer(const GaneshaServer&) = delete;
  GaneshaServer& operator=(const GaneshaServer&) = delete;

  // The reason ganesha cannot run here (not installed, not root), or "" when it can.
  static std::string unavailableReason();

  // Starts the server and waits (at most 30 s) until it serves; the first start picks the
  // port, later starts reuse it and the same export directory. Throws std::runtime_error with
  // the log's tail when it does not come up.
  void start();
  // SIGTERM, then SIGKILL after 10 s; waits for the exit. Idempotent.
  void stop();
  bool running() const { return pid_ > 0; }

  int nfsPort() const { return nfsPort_; }
  // The exported directory on this machine, to check what the plugin did.
  const std::string& exportDir() const { return exportDir_; }
  // The NFSv4 pseudo path clients use as the share.
  static const char* share() { return "/export"; }
  std::string log() const;

 private:
  void writeConfig() const;

  std::string root_;
  std::string exportDir_;
  std::string configPath_;
  std::string logPath_;
  std::string pidPath_;
  int nfsPort_ = 0;
  pid_t pid_ = -1;
};

}  // namespace polycsi::nfs::testing
