// The plugin's side of the SSH client: loads libpolycsi_rds_nvme_ssh.so on first use and turns
// its failures back into exceptions (ssh_module.hpp).
#include "ssh_session.hpp"

#include <algorithm>
#include <cctype>

#include "message_text.hpp"
#include "polycsi/companion_library.hpp"
#include "ssh_module.hpp"

namespace polycsi::rds_nvme {
namespace {

using std::chrono::milliseconds;

[[noreturn]] void rethrow(const SshFailure& failure) {
  if (failure.transport) throw TransportError(failure.code, failure.message, failure.mayHaveRun);
  throw Error(failure.code, failure.message);
}

void anchor() {}  // an address in this plugin, for companionLibrary

const SshModule& module() {
  return companionLibrary<SshModule>({.plugin = "rds_nvme",
                                      .what = "SSH library",
                                      .file = kSshModuleFile,
                                      .entryPoint = kSshModuleEntryPoint,
                                      .anchor = reinterpret_cast<const void*>(&anchor)});
}

}  // namespace

std::unique_ptr<SshSession> SshSession::connect(const SshOptions& options, milliseconds timeout) {
  const SshModule& ssh = module();
  std::string fingerprint;
  SshFailure failure;
  SshConnection* connection = ssh.connect(options, timeout, fingerprint, failure);
  if (connection == nullptr) rethrow(failure);
  return std::unique_ptr<SshSession>(new SshSession(ssh, connection, std::move(fingerprint)));
}

SshSession::~SshSession() { module_.close(connection_); }

CommandReply SshSession::exec(const std::string& command, milliseconds timeout) {
  CommandReply reply;
  SshFailure failure;
  if (!module_.exec(connection_, command, timeout, reply, failure)) rethrow(failure);
  return reply;
}

bool SshSession::keepalive() { return module_.keepalive(connection_); }

bool SshSession::isConnected() const { return module_.isConnected(connection_); }

void validateHostKeyPin(const std::string& fingerprint, const std::string& publicKey) {
  if (!fingerprint.empty()) {
    bool ok = fingerprint.rfind("SHA256:", 0) == 0 && fingerprint.size() == 7 + 43 &&
              std::all_of(fingerprint.begin() + 7, fingerprint.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
              });
    if (!ok)
      throw Error(Code::kInvalidArgument,
                  "setting 'host_key_fingerprint' must be 'SHA256:' followed by 43 base64 "
                  "characters, as `ssh-keygen -lf <host key>` prints it; got " +
                      printableForMessage(fingerprint));
  }
  if (publicKey.empty()) return;
  SshFailure failure;
  if (!module().checkPublicKey(publicKey, failure)) rethrow(failure);
}

void validatePrivateKey(const std::string& keyText, const std::string& keyFile) {
  SshFailure failure;
  if (!module().checkPrivateKey(keyText, keyFile, failure)) rethrow(failure);
}

}  // namespace polycsi::rds_nvme
