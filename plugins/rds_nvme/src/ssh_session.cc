// The plugin's side of the SSH client: loads libpolycsi_rds_nvme_ssh.so on first use and turns
// its failures back into exceptions (ssh_module.hpp).
#include "ssh_session.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>

#include "message_text.hpp"
#include "ssh_module.hpp"

namespace polycsi::rds_nvme {
namespace {

using std::chrono::milliseconds;

[[noreturn]] void rethrow(const SshFailure& failure) {
  if (failure.transport) throw TransportError(failure.code, failure.message, failure.mayHaveRun);
  throw Error(failure.code, failure.message);
}

// ../lib/<module> beside the object this code is in: the plugin (plugins/) or an executable
// that links the plugin's objects (bin/).
std::string modulePath() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&modulePath), &info) == 0 || info.dli_fname == nullptr)
    throw Error(Code::kFailedPrecondition,
                "cannot find where the rds_nvme plugin was loaded from, to load " +
                    std::string(kSshModuleFile) + " beside it");
  std::error_code ec;
  std::filesystem::path self = std::filesystem::canonical(info.dli_fname, ec);
  if (ec) self = info.dli_fname;
  return (self.parent_path() / ".." / "lib" / kSshModuleFile).lexically_normal().string();
}

const SshModule* loadModule(const std::string& path, std::string& error) {
  // RTLD_LOCAL: libssh's and OpenSSL's symbols stay out of the other plugins' way.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    error = "cannot load the rds_nvme SSH library " + path + " (" +
            (why != nullptr ? why : "unknown error") +
            "); it is installed with the plugin, in ../lib beside the plugin directory";
    return nullptr;
  }
  using Entry = const SshModule* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kSshModuleEntryPoint));
  const SshModule* module = entry != nullptr ? entry() : nullptr;
  if (module == nullptr || module->size != sizeof(SshModule)) {
    dlclose(handle);
    error = "the rds_nvme SSH library " + path + " does not match this plugin (no " +
            kSshModuleEntryPoint + " of this build): install both from the same build";
    return nullptr;
  }
  return module;  // never unloaded: sessions and libssh's globals live until the process exits
}

// Loaded once; a failure is remembered, so a missing module is one clear error per call and
// not a dlopen per command.
const SshModule& module() {
  static std::once_flag once;
  static const SshModule* loaded = nullptr;
  static std::string error;
  std::call_once(once, [] {
    try {
      loaded = loadModule(modulePath(), error);
    } catch (const Error& e) {
      error = e.what();
    }
  });
  if (loaded == nullptr) throw Error(Code::kFailedPrecondition, error);
  return *loaded;
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
