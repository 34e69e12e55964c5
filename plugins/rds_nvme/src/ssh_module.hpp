// The table of libpolycsi_rds_nvme_ssh.so: the plugin's SSH client over libssh, in a library of
// its own that the plugin loads only when it first needs SSH (ssh_session.cc).
//
// Why a separate library: libssh initialises OpenSSL when it is loaded, and with it come
// libgssapi and libkrb5; together some 3 MiB resident for the life of the process
// (bench/README.md). A node never speaks SSH, and neither does a controller until its first
// RouterOS command, so neither should pay for it.
//
// The module is built from this tree with the same compiler and standard library as the plugin,
// so the table passes C++ types. No exception crosses it: every failure comes back as an
// SshFailure, which the plugin side turns into Error or TransportError again (type identity of
// exceptions across two libraries with hidden symbols is not something to rely on). It is not a
// plugin interface and has no ABI promise beyond one build.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "command_transport.hpp"
#include "polycsi/types.hpp"

namespace polycsi::rds_nvme {

struct SshOptions;

// What failed, as the plugin side rethrows it: TransportError when `transport` is set (with
// `mayHaveRun`), Error otherwise.
struct SshFailure {
  Code code = Code::kInternal;
  std::string message;
  bool transport = false;
  bool mayHaveRun = false;
};

// One connected, authenticated session; owned by the module, freed by `close`.
struct SshConnection;

struct SshModule {
  // sizeof(SshModule) as the module was built; the loader refuses another size.
  size_t size;
  // Connects, verifies the host key and authenticates (ssh_session.hpp's connect()). Returns
  // nullptr and fills `failure` when it cannot; `fingerprint` receives the server's host key
  // fingerprint ("SHA256:...") on success.
  SshConnection* (*connect)(const SshOptions& options, std::chrono::milliseconds timeout,
                            std::string& fingerprint, SshFailure& failure);
  // Disconnects and frees. Null is ignored.
  void (*close)(SshConnection* connection);
  // Runs one command on a new exec channel (ssh_session.hpp's exec()). False and `failure` when
  // it fails.
  bool (*exec)(SshConnection* connection, const std::string& command,
               std::chrono::milliseconds timeout, CommandReply& reply, SshFailure& failure);
  // Sends an SSH keepalive; false when the connection is gone.
  bool (*keepalive)(SshConnection* connection);
  bool (*isConnected)(const SshConnection* connection);
  // Parses an OpenSSH public key line; false and `failure` (INVALID_ARGUMENT) when it is not one.
  bool (*checkPublicKey)(const std::string& line, SshFailure& failure);
  // Loads a private key from text or a file; false and `failure` (INVALID_ARGUMENT) when it
  // cannot.
  bool (*checkPrivateKey)(const std::string& keyText, const std::string& keyFile,
                          SshFailure& failure);
};

// The module's exported entry point (extern "C", default visibility, in libssh_module.cc).
inline constexpr char kSshModuleEntryPoint[] = "polycsi_rds_nvme_ssh_module_v1";
// Where it is: ../lib/<this> beside the object that holds the plugin's code (the plugin in
// plugins/, or an executable in bin/ that links the plugin's objects), as the build and an
// install lay them out.
inline constexpr char kSshModuleFile[] = "libpolycsi_rds_nvme_ssh.so";

}  // namespace polycsi::rds_nvme
