// Runs the real `rds-sim` binary (tools/rds-sim) as a child process for integration tests: a
// private state directory, a generated ed25519 host key whose fingerprint the tests pin, a
// password and an authorized client key for the plugin, and an SSH client to inspect the
// simulated RDS and to switch its faults. Stops and restarts only the process it started, by
// pid. Everything is on 127.0.0.1.
//
// THREADING: not thread-safe; one test thread drives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "loopback.hpp"  // freeLoopbackPort, for the peers a test starts next to rds-sim

namespace polycsi::testing {

// The output and exit status of one RouterOS command run over SSH.
struct SimReply {
  std::string output;   // CR LF line endings, as RouterOS sends them
  int exitStatus = -1;  // 0 success, 1 RouterOS error
};

class RdsSimProcess {
 public:
  static constexpr char kUser[] = "admin";
  static constexpr char kPassword[] = "rds-sim-password";
  // The capacity of the simulator's one pool, `storage-pool` (free = this minus file sizes).
  static constexpr int64_t kPoolCapacityBytes = int64_t{100} << 30;

  // Prepares `directory` (created; must be private to the test): state/, the host key, a
  // client key pair and authorized_keys. Does not start the simulator.
  explicit RdsSimProcess(std::string directory);
  // Stops the simulator if it runs.
  ~RdsSimProcess();
  RdsSimProcess(const RdsSimProcess&) = delete;
  RdsSimProcess& operator=(const RdsSimProcess&) = delete;

  // Starts rds-sim on 127.0.0.1: on a free port the first time, on the same port again after
  // stop(). Waits (at most 20 s) for its "rds-sim listening on" line; throws with the log when
  // it does not come.
  void start();
  // SIGTERM to the pid and a bounded wait (SIGKILL after 10 s). No-op when not running.
  void stop();
  // stop() then start(): the same state directory, host key and port.
  void restart();
  bool running() const { return child_ && child_->running(); }

  // Listens on, and connects to, `address` instead of 127.0.0.1 (e.g. a veth address in a
  // network namespace the test made). Call before the first start().
  void setAddress(std::string address) { address_ = std::move(address); }
  const std::string& address() const { return address_; }
  // Answers every command this long after it arrives (rds-sim --command-latency-ms), as a real
  // RDS does. Call before start().
  void setCommandLatencyMs(int milliseconds) { commandLatencyMs_ = milliseconds; }
  // The capacity of the pool (rds-sim --pool-capacity; free = capacity minus the disks' file
  // sizes), kPoolCapacityBytes unless set. Call before start().
  void setPoolCapacityBytes(int64_t bytes) { poolCapacityBytes_ = bytes; }
  int64_t poolCapacityBytes() const { return poolCapacityBytes_; }
  int port() const { return port_; }
  pid_t pid() const { return child_ ? child_->pid() : -1; }
  // Where the simulator keeps its state; the pool's files are under stateDir()/storage-pool.
  const std::string& stateDir() const { return stateDir_; }
  // "SHA256:<base64>", computed from the host key file, as `ssh-keygen -lf` prints it.
  const std::string& hostKeyFingerprint() const { return fingerprint_; }
  // A private key file the simulator accepts for kUser.
  const std::string& clientKeyFile() const { return clientKey_; }
  // The simulator's stdout and stderr, across restarts.
  std::string log() const;

  // Runs `command` on a new SSH connection (password login, host key checked against
  // hostKeyFingerprint()). Throws std::runtime_error when the connection or the channel fails.
  SimReply run(const std::string& command) const;
  // `/polycsi-sim fault <arguments>` (never subject to faults itself); throws when refused.
  std::string fault(const std::string& arguments) const;
  // `/disk print detail where slot="<slot>"`: one entry, or none.
  std::string diskDetail(const std::string& slot) const;
  // How many disks have this slot.
  int diskCount(const std::string& slot) const;
  // Every command a client that logged in with its key (the plugin; run() logs in with the
  // password) sent so far, across restarts, in order.
  std::vector<std::string> commandsByKey() const;
  // The commands of commandsByKey() that the "RouterOS over SSH (rds_nvme)" section of
  // docs/fidelity.md does not list; empty when every command rests on a listed public source.
  std::vector<std::string> commandsTheReferenceDoesNotList() const;

 private:
  std::string directory_;
  std::string stateDir_;
  std::string hostKey_;
  std::string clientKey_;
  std::string authorizedKeys_;
  std::string logPath_;
  std::string fingerprint_;
  std::string address_ = "127.0.0.1";
  int port_ = 0;
  int commandLatencyMs_ = 0;
  int64_t poolCapacityBytes_ = kPoolCapacityBytes;
  std::unique_ptr<ChildProcess> child_;
};

// The value of `key=` in one `print detail` entry ("" when absent); quotes are removed and the
// continuation-line wrapping RouterOS adds is undone.
std::string detailValue(const std::string& printDetail, const std::string& key);

}  // namespace polycsi::testing
