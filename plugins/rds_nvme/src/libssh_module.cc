// libpolycsi_rds_nvme_ssh.so: the rds_nvme plugin's SSH client over libssh, loaded by the plugin
// on its first SSH use (ssh_module.hpp says why). Everything here may throw inside; the table at
// the end turns every exception into an SshFailure, so none crosses into the plugin.
#include <libssh/libssh.h>
#include <libssh/server.h>  // ssh_send_keepalive (usable by clients too)

#include <algorithm>
#include <sstream>
#include <vector>

#include "message_text.hpp"
#include "ssh_module.hpp"
#include "ssh_session.hpp"

namespace polycsi::rds_nvme {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxOutputBytes = size_t{16} << 20;

struct KeyDeleter {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

KeyPtr loadPrivateKey(const std::string& text, const std::string& file) {
  ssh_key key = nullptr;
  int rc = !text.empty()
               ? ssh_pki_import_privkey_base64(text.c_str(), nullptr, nullptr, nullptr, &key)
               : ssh_pki_import_privkey_file(file.c_str(), nullptr, nullptr, nullptr, &key);
  if (rc != SSH_OK || key == nullptr)
    throw Error(Code::kInvalidArgument,
                !text.empty() ? "setting 'private_key' is not a private key libssh can read "
                                "(PEM or OpenSSH format, without passphrase)"
                              : "setting 'private_key_file': cannot read a private key from " +
                                    printableForMessage(file) +
                                    " (missing, unreadable, encrypted or not a key)");
  return KeyPtr(key);
}

// "<type> <base64> [comment]" -> key; throws INVALID_ARGUMENT.
KeyPtr parsePublicKey(const std::string& text) {
  std::istringstream in(text);
  std::string type, base64;
  in >> type >> base64;
  enum ssh_keytypes_e keyType = ssh_key_type_from_name(type.c_str());
  ssh_key key = nullptr;
  if (type.empty() || base64.empty() || keyType == SSH_KEYTYPE_UNKNOWN ||
      ssh_pki_import_pubkey_base64(base64.c_str(), keyType, &key) != SSH_OK || key == nullptr)
    throw Error(Code::kInvalidArgument,
                "setting 'host_public_key' must be an OpenSSH public key line such as "
                "'ssh-ed25519 AAAA... comment', got " +
                    printableForMessage(text));
  return KeyPtr(key);
}

std::string fingerprintOf(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK)
    throw Error(Code::kInternal, "cannot hash the server's host key");
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) throw Error(Code::kInternal, "cannot format the host key fingerprint");
  std::string out(text);
  ssh_string_free_char(text);
  return out;
}

}  // namespace

// One libssh session. THREADING: one caller at a time (the pool hands it to one caller).
struct SshConnection {
  ssh_session session = nullptr;
  std::string where;  // "user@host:port", for messages
  std::string fingerprint;

  ~SshConnection() {
    if (session != nullptr) {
      if (ssh_is_connected(session)) ssh_disconnect(session);
      ssh_free(session);
    }
  }
  void setTimeout(milliseconds timeout);
  void verifyHostKey(const SshOptions& options);
  void authenticate(const SshOptions& options);
  CommandReply exec(const std::string& command, milliseconds timeout);
};

void SshConnection::setTimeout(milliseconds timeout) {
  long usec = static_cast<long>(std::max<int64_t>(timeout.count(), 1)) * 1000;
  long sec = usec / 1000000;
  usec %= 1000000;
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &sec);
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &usec);
}

namespace {

std::unique_ptr<SshConnection> connect(const SshOptions& options, milliseconds timeout) {
  auto self = std::make_unique<SshConnection>();
  self->where = options.user + "@" + options.host + ":" + std::to_string(options.port);
  ssh_session s = ssh_new();
  if (s == nullptr) throw Error(Code::kResourceExhausted, "cannot allocate an SSH session");
  self->session = s;
  int port = options.port;
  int noConfig = 0;
  ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &noConfig);
  ssh_options_set(s, SSH_OPTIONS_HOST, options.host.c_str());
  ssh_options_set(s, SSH_OPTIONS_PORT, &port);
  ssh_options_set(s, SSH_OPTIONS_USER, options.user.c_str());
  ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  // A command is several small SSH packets (channel open, exec request, window adjust); with
  // Nagle's algorithm each waits for the delayed ACK of the previous one, which made a command
  // on a pooled session take 35 ms instead of well under 1 ms (bench/README.md).
  int noDelay = 1;
  ssh_options_set(s, SSH_OPTIONS_NODELAY, &noDelay);
  if (!options.hostPublicKey.empty()) {
    // Ask for the pinned key's algorithm, so a server with several host keys shows that one.
    std::istringstream in(options.hostPublicKey);
    std::string type;
    in >> type;
    if (type == "ssh-rsa") type = "rsa-sha2-512,rsa-sha2-256,ssh-rsa";
    ssh_options_set(s, SSH_OPTIONS_HOSTKEYS, type.c_str());
  }
  self->setTimeout(std::min(timeout, options.connectTimeout));
  if (ssh_connect(s) != SSH_OK)
    throw TransportError(Code::kUnavailable,
                         "cannot connect to RDS " + self->where + ": " + ssh_get_error(s), false);
  self->verifyHostKey(options);
  self->authenticate(options);
  return self;
}

}  // namespace

void SshConnection::verifyHostKey(const SshOptions& options) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK || raw == nullptr)
    throw TransportError(Code::kUnavailable,
                         "RDS " + where + " sent no host key: " + ssh_get_error(session), false);
  KeyPtr serverKey(raw);
  fingerprint = fingerprintOf(serverKey.get());
  if (options.insecureIgnoreHostKey) return;
  if (!options.hostKeyFingerprint.empty()) {
    if (fingerprint != options.hostKeyFingerprint)
      throw Error(Code::kFailedPrecondition,
                  "host key of RDS " + where +
                      " does not match the pinned fingerprint: the "
                      "server presented " +
                      fingerprint + ", host_key_fingerprint is " + options.hostKeyFingerprint +
                      ". Refusing to connect (possible man-in-the-middle). If the RDS host key "
                      "was changed on purpose, update host_key_fingerprint.");
    return;
  }
  if (!options.hostPublicKey.empty()) {
    KeyPtr pinned = parsePublicKey(options.hostPublicKey);
    if (ssh_key_cmp(serverKey.get(), pinned.get(), SSH_KEY_CMP_PUBLIC) != 0)
      throw Error(Code::kFailedPrecondition,
                  "host key of RDS " + where +
                      " does not match the pinned host_public_key "
                      "(pinned " +
                      fingerprintOf(pinned.get()) + ", server presented " + fingerprint +
                      "). Refusing to connect (possible man-in-the-middle). If the RDS host key "
                      "was changed on purpose, update host_public_key.");
    return;
  }
  throw Error(Code::kFailedPrecondition,
              "host key of RDS " + where + " (" + fingerprint +
                  ") is unknown: set host_key_fingerprint or host_public_key to pin it");
}

void SshConnection::authenticate(const SshOptions& options) {
  ssh_session s = session;
  std::string attempts;
  if (!options.privateKey.empty() || !options.privateKeyFile.empty()) {
    KeyPtr key = loadPrivateKey(options.privateKey, options.privateKeyFile);
    int rc = ssh_userauth_publickey(s, nullptr, key.get());
    if (rc == SSH_AUTH_SUCCESS) return;
    if (rc == SSH_AUTH_ERROR)
      throw TransportError(Code::kUnavailable,
                           "SSH authentication with RDS " + where + " failed: " + ssh_get_error(s),
                           false);
    attempts = "public key";
  }
  if (!options.password.empty()) {
    int rc = ssh_userauth_password(s, nullptr, options.password.c_str());
    if (rc == SSH_AUTH_SUCCESS) return;
    if (rc == SSH_AUTH_ERROR)
      throw TransportError(Code::kUnavailable,
                           "SSH authentication with RDS " + where + " failed: " + ssh_get_error(s),
                           false);
    attempts += std::string(attempts.empty() ? "" : " and ") + "password";
  }
  throw Error(Code::kPermissionDenied, "RDS " + where + " refused SSH authentication by " +
                                           (attempts.empty() ? "no method" : attempts) +
                                           ": check user, private_key and password");
}

CommandReply SshConnection::exec(const std::string& command, milliseconds timeout) {
  ssh_session s = session;
  const auto deadline = Clock::now() + timeout;
  setTimeout(timeout);
  ssh_channel channel = ssh_channel_new(s);
  if (channel == nullptr)
    throw TransportError(Code::kUnavailable,
                         "cannot open an SSH channel to RDS " + where + ": " + ssh_get_error(s),
                         false);
  struct ChannelCloser {
    ssh_channel c;
    ~ChannelCloser() {
      if (ssh_channel_is_open(c)) ssh_channel_close(c);
      ssh_channel_free(c);
    }
  } closer{channel};
  if (ssh_channel_open_session(channel) != SSH_OK)
    throw TransportError(
        Code::kUnavailable,
        "cannot open an SSH session channel to RDS " + where + ": " + ssh_get_error(s), false);
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK)
    // The request may have reached the server before the failure was seen.
    throw TransportError(Code::kUnavailable,
                         "RDS " + where + " did not accept the command: " + ssh_get_error(s), true);
  CommandReply reply;
  std::vector<char> buffer(65536);
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      throw TransportError(
          Code::kDeadlineExceeded,
          "RDS " + where + " did not answer within " + std::to_string(timeout.count()) + " ms",
          true);
    int slice = static_cast<int>(std::min<int64_t>(left.count(), 200));
    int n = ssh_channel_read_timeout(channel, buffer.data(), buffer.size(), 0, slice);
    if (n == SSH_ERROR)
      throw TransportError(
          Code::kUnavailable,
          "connection to RDS " + where + " failed while reading the reply: " + ssh_get_error(s),
          true);
    if (n > 0) reply.output.append(buffer.data(), static_cast<size_t>(n));
    int e = ssh_channel_read_nonblocking(channel, buffer.data(), buffer.size(), 1);
    if (e > 0) reply.errorOutput.append(buffer.data(), static_cast<size_t>(e));
    if (reply.output.size() + reply.errorOutput.size() > kMaxOutputBytes)
      throw Error(Code::kInternal, "RDS " + where + " sent more than 16 MiB of output");
    if (n == 0 && e <= 0 && ssh_channel_is_eof(channel)) break;
  }
  // Exit status arrives with or just after EOF; this waits within the session timeout.
  setTimeout(
      std::max(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()), milliseconds(1)));
  int status = ssh_channel_get_exit_status(channel);
  reply.exitStatus = status < 0 ? 0 : status;
  return reply;
}

namespace {

// Runs `body`, turning what it throws into `failure`. Returns whether it succeeded.
template <typename Body>
bool catchingAll(SshFailure& failure, Body&& body) noexcept {
  try {
    body();
    return true;
  } catch (const TransportError& e) {
    failure = {e.code(), e.what(), true, e.mayHaveRun()};
  } catch (const Error& e) {
    failure = {e.code(), e.what(), false, false};
  } catch (const std::bad_alloc&) {
    failure = {Code::kResourceExhausted, "out of memory in the SSH client", false, false};
  } catch (const std::exception& e) {
    failure = {Code::kInternal, std::string("SSH client: ") + e.what(), false, false};
  }
  return false;
}

SshConnection* moduleConnect(const SshOptions& options, milliseconds timeout,
                             std::string& fingerprint, SshFailure& failure) {
  std::unique_ptr<SshConnection> connection;
  if (!catchingAll(failure, [&] { connection = connect(options, timeout); })) return nullptr;
  fingerprint = connection->fingerprint;
  return connection.release();
}

void moduleClose(SshConnection* connection) { delete connection; }

bool moduleExec(SshConnection* connection, const std::string& command, milliseconds timeout,
                CommandReply& reply, SshFailure& failure) {
  return catchingAll(failure, [&] { reply = connection->exec(command, timeout); });
}

bool moduleKeepalive(SshConnection* connection) {
  return connection->session != nullptr && ssh_is_connected(connection->session) != 0 &&
         ssh_send_keepalive(connection->session) == SSH_OK;
}

bool moduleIsConnected(const SshConnection* connection) {
  return connection->session != nullptr && ssh_is_connected(connection->session) != 0;
}

bool moduleCheckPublicKey(const std::string& line, SshFailure& failure) {
  return catchingAll(failure, [&] { parsePublicKey(line); });
}

bool moduleCheckPrivateKey(const std::string& keyText, const std::string& keyFile,
                           SshFailure& failure) {
  return catchingAll(failure, [&] { loadPrivateKey(keyText, keyFile); });
}

constexpr SshModule kModule = {
    sizeof(SshModule), moduleConnect,     moduleClose,          moduleExec,
    moduleKeepalive,   moduleIsConnected, moduleCheckPublicKey, moduleCheckPrivateKey,
};

}  // namespace
}  // namespace polycsi::rds_nvme

extern "C" __attribute__((visibility("default"))) const polycsi::rds_nvme::SshModule*
polycsi_rds_nvme_ssh_module_v1() {
  return &polycsi::rds_nvme::kModule;
}
