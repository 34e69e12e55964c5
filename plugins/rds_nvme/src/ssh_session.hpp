// SshSession: one authenticated SSH client session to the RDS, running one command per exec
// channel.
//
// The SSH client itself (libssh) is in libpolycsi_rds_nvme_ssh.so, which the first connect() or
// key check loads (ssh_module.hpp says why); a process that never speaks SSH never maps libssh
// or initialises OpenSSL. A missing or foreign module is FAILED_PRECONDITION naming its path.
//
// connect() resolves, connects (bounded by a timeout), verifies the server's host key against
// the pinned SHA256 fingerprint (as OpenSSH prints it: "SHA256:<base64>") or public key
// ("ssh-ed25519 AAAA... [comment]") and refuses an unknown or changed key with a message naming
// both keys, unless HostKeyPolicy::insecureIgnore is set; then authenticates with the private
// key (inline PEM/OpenSSH text or a file) and/or the password. The user's ~/.ssh/config and
// known_hosts are never read.
//
// OWNERSHIP: owns the connection; destroyed sessions disconnect.
// THREADING: not thread-safe; one thread at a time (SshSessionPool hands a session to one
// caller at a time).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "command_transport.hpp"

namespace polycsi::rds_nvme {

struct SshModule;
struct SshConnection;

struct SshOptions {
  std::string host;
  int port = 22;
  std::string user;
  // Credentials: at least one of these is set.
  std::string privateKey;      // key text (PEM or OpenSSH format)
  std::string privateKeyFile;  // path of a key file
  std::string password;
  // Host key pinning: one of fingerprint or publicKey, or insecureIgnoreHostKey.
  std::string hostKeyFingerprint;  // "SHA256:<base64 without padding>"
  std::string hostPublicKey;       // "<type> <base64> [comment]"
  bool insecureIgnoreHostKey = false;
  std::chrono::milliseconds connectTimeout{10000};
};

class SshSession {
 public:
  ~SshSession();
  SshSession(const SshSession&) = delete;
  SshSession& operator=(const SshSession&) = delete;

  // Connects and authenticates within `timeout`. Throws TransportError(mayHaveRun=false) when
  // the server cannot be reached; Error(kFailedPrecondition) when its host key does not match
  // the pin; Error(kPermissionDenied) when authentication is refused; Error(kInvalidArgument)
  // for an unusable key or pin.
  static std::unique_ptr<SshSession> connect(const SshOptions& options,
                                             std::chrono::milliseconds timeout);

  // Runs `command` on a new exec channel and waits for its output, EOF and exit status, at
  // most `timeout`. Throws TransportError: mayHaveRun=false when the channel could not be
  // opened or the request was refused, true once the command was sent. Output above 16 MiB
  // is an error (INTERNAL).
  CommandReply exec(const std::string& command, std::chrono::milliseconds timeout);

  // Sends an SSH keepalive; false when the connection is gone. Cheap: no round trip.
  bool keepalive();
  bool isConnected() const;

  // The server's host key fingerprint, "SHA256:<base64>".
  const std::string& serverFingerprint() const { return fingerprint_; }

 private:
  SshSession(const SshModule& module, SshConnection* connection, std::string fingerprint)
      : module_(module), connection_(connection), fingerprint_(std::move(fingerprint)) {}

  const SshModule& module_;
  SshConnection* connection_;  // owned; freed by module_.close
  std::string fingerprint_;
};

// Checks the shape of a pinned fingerprint or public key without connecting; throws
// Error(kInvalidArgument) naming the setting. A public key is parsed by the SSH module (loaded
// here when it is not yet).
void validateHostKeyPin(const std::string& fingerprint, const std::string& publicKey);
// Checks that a private key (text or file) can be loaded; throws Error(kInvalidArgument). Loads
// the SSH module.
void validatePrivateKey(const std::string& keyText, const std::string& keyFile);

}  // namespace polycsi::rds_nvme
