#include "rds_sim_process.hpp"

#include <libssh/libssh.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "fidelity_reference.hpp"

namespace polycsi::testing {
namespace {

namespace fs = std::filesystem;

struct KeyFree {
  void operator()(ssh_key key) const { ssh_key_free(key); }
};
using Key = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyFree>;

struct SessionFree {
  void operator()(ssh_session session) const {
    if (ssh_is_connected(session)) ssh_disconnect(session);
    ssh_free(session);
  }
};
using Session = std::unique_ptr<std::remove_pointer_t<ssh_session>, SessionFree>;

Key generateKey() {
  ssh_key key = nullptr;
  if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
    throw std::runtime_error("cannot generate an ed25519 key");
  return Key(key);
}

void writePrivateKey(const Key& key, const std::string& path) {
  if (ssh_pki_export_privkey_file(key.get(), nullptr, nullptr, nullptr, path.c_str()) != SSH_OK)
    throw std::runtime_error("cannot write the private key " + path);
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

std::string fingerprintOf(ssh_key key) {
  unsigned char* hash = nullptr;
  size_t length = 0;
  if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) != SSH_OK)
    throw std::runtime_error("cannot hash a public key");
  char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, length);
  ssh_clean_pubkey_hash(&hash);
  if (text == nullptr) throw std::runtime_error("cannot format a fingerprint");
  std::string out(text);
  ssh_string_free_char(text);
  return out;
}

// The fingerprint of the public half of the private key in `path`.
std::string fingerprintOfKeyFile(const std::string& path) {
  ssh_key loaded = nullptr;
  if (ssh_pki_import_privkey_file(path.c_str(), nullptr, nullptr, nullptr, &loaded) != SSH_OK)
    throw std::runtime_error("cannot read the host key " + path);
  Key privateKey(loaded);
  ssh_key pub = nullptr;
  if (ssh_pki_export_privkey_to_pubkey(privateKey.get(), &pub) != SSH_OK)
    throw std::runtime_error("cannot derive the public host key from " + path);
  return fingerprintOf(Key(pub).get());
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

RdsSimProcess::RdsSimProcess(std::string directory)
    : directory_(std::move(directory)),
      stateDir_(directory_ + "/state"),
      hostKey_(directory_ + "/ssh_host_ed25519_key"),
      clientKey_(directory_ + "/id_ed25519"),
      authorizedKeys_(directory_ + "/authorized_keys"),
      logPath_(directory_ + "/rds-sim.log") {
  fs::create_directories(stateDir_);
  Key host = generateKey();
  writePrivateKey(host, hostKey_);
  fingerprint_ = fingerprintOfKeyFile(hostKey_);

  Key client = generateKey();
  writePrivateKey(client, clientKey_);
  char* base64 = nullptr;
  if (ssh_pki_export_pubkey_base64(client.get(), &base64) != SSH_OK)
    throw std::runtime_error("cannot export the client public key");
  std::ofstream(authorizedKeys_) << "ssh-ed25519 " << base64 << " polycsi-integration\n";
  ssh_string_free_char(base64);
}

RdsSimProcess::~RdsSimProcess() { stop(); }

std::vector<std::string> RdsSimProcess::commandsByKey() const {
  std::vector<std::string> commands;
  std::ifstream log(directory_ + "/commands.log");
  for (std::string line; std::getline(log, line);) {
    if (line.rfind("publickey\t", 0) == 0) commands.push_back(line.substr(10));
  }
  return commands;
}

std::vector<std::string> RdsSimProcess::commandsTheReferenceDoesNotList() const {
  static const auto reference = [] {
    FidelityReference::Options options;
    options.commands = true;
    return FidelityReference::load("RouterOS over SSH (rds_nvme)", options);
  }();
  return reference.unlisted(commandsByKey());
}

void RdsSimProcess::start() {
  if (running()) throw std::logic_error("rds-sim is already running");
  // The first start picks the port; restarts reuse it so the driver's settings stay right.
  if (port_ == 0) port_ = freeLoopbackPort();
  const auto logStart = static_cast<size_t>(fs::exists(logPath_) ? fs::file_size(logPath_) : 0);
  std::vector<std::string> argv = {RDS_SIM_BINARY,
                                   "--listen",
                                   address_ + ":" + std::to_string(port_),
                                   "--state-dir",
                                   stateDir_,
                                   "--host-key",
                                   hostKey_,
                                   "--user",
                                   kUser,
                                   "--password",
                                   kPassword,
                                   "--authorized-keys",
                                   authorizedKeys_,
                                   "--pool-capacity",
                                   std::to_string(poolCapacityBytes_),
                                   "--no-nvmet",
                                   "--log-level",
                                   "debug",
                                   "--command-log",
                                   directory_ + "/commands.log"};
  if (commandLatencyMs_ > 0) {
    argv.push_back("--command-latency-ms");
    argv.push_back(std::to_string(commandLatencyMs_));
  }
  ChildOptions options;
  options.argv = argv;
  options.outputPath = logPath_;
  child_ = std::make_unique<ChildProcess>(options);
  const std::string expected = "rds-sim listening on " + address_ + ":" + std::to_string(port_);
  for (int i = 0; i < 400; ++i) {
    std::string text = readFile(logPath_);
    if (text.size() > logStart && text.find(expected, logStart) != std::string::npos) return;
    if (child_->hasExited()) {
      throw std::runtime_error("rds-sim exited at start:\n" + text.substr(logStart));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop();
  throw std::runtime_error("rds-sim did not report `" + expected + "` within 20 s:\n" +
                           readFile(logPath_).substr(logStart));
}

void RdsSimProcess::stop() {
  if (child_) child_->stop(std::chrono::seconds(10));
}

void RdsSimProcess::restart() {
  stop();
  start();
}

std::string RdsSimProcess::log() const { return readFile(logPath_); }

SimReply RdsSimProcess::run(const std::string& command) const {
  Session session(ssh_new());
  if (!session) throw std::runtime_error("ssh_new failed");
  const unsigned int port = static_cast<unsigned int>(port_);
  long timeoutSeconds = 30;
  int noConfig = 0;
  ssh_options_set(session.get(), SSH_OPTIONS_HOST, address_.c_str());
  ssh_options_set(session.get(), SSH_OPTIONS_PORT, &port);
  ssh_options_set(session.get(), SSH_OPTIONS_USER, kUser);
  ssh_options_set(session.get(), SSH_OPTIONS_TIMEOUT, &timeoutSeconds);
  // The test's own checks: never the user's ssh config or known_hosts.
  ssh_options_set(session.get(), SSH_OPTIONS_PROCESS_CONFIG, &noConfig);
  ssh_options_set(session.get(), SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(session.get(), SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  auto failed = [&](const std::string& what) {
    return std::runtime_error("rds-sim on port " + std::to_string(port_) + ": " + what + " (" +
                              ssh_get_error(session.get()) + ") running `" + command + "`");
  };
  if (ssh_connect(session.get()) != SSH_OK) throw failed("cannot connect");
  ssh_key serverKey = nullptr;
  if (ssh_get_server_publickey(session.get(), &serverKey) != SSH_OK) throw failed("no host key");
  const std::string presented = fingerprintOf(Key(serverKey).get());
  if (presented != fingerprint_)
    throw std::runtime_error("rds-sim presented host key " + presented + ", expected " +
                             fingerprint_);
  if (ssh_userauth_password(session.get(), nullptr, kPassword) != SSH_AUTH_SUCCESS)
    throw failed("password refused");

  ssh_channel channel = ssh_channel_new(session.get());
  if (channel == nullptr) throw failed("cannot create a channel");
  std::unique_ptr<std::remove_pointer_t<ssh_channel>, void (*)(ssh_channel)> owned(
      channel, [](ssh_channel c) {
        ssh_channel_close(c);
        ssh_channel_free(c);
      });
  if (ssh_channel_open_session(channel) != SSH_OK) throw failed("cannot open a channel");
  if (ssh_channel_request_exec(channel, command.c_str()) != SSH_OK) throw failed("exec refused");
  SimReply reply;
  char buffer[4096];
  while (true) {
    int n = ssh_channel_read_timeout(channel, buffer, sizeof(buffer), 0, 30000);
    if (n > 0) {
      reply.output.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0) throw failed("connection lost");
    if (!ssh_channel_is_eof(channel)) throw failed("no reply within 30 s");
    break;
  }
  reply.exitStatus = ssh_channel_get_exit_status(channel);
  if (reply.exitStatus < 0) throw failed("no exit status");
  return reply;
}

std::string RdsSimProcess::fault(const std::string& arguments) const {
  SimReply reply = run("/polycsi-sim fault " + arguments);
  if (reply.exitStatus != 0)
    throw std::runtime_error("rds-sim refused fault " + arguments + ": " + reply.output);
  return reply.output;
}

std::string RdsSimProcess::diskDetail(const std::string& slot) const {
  SimReply reply = run("/disk print detail where slot=\"" + slot + "\"");
  if (reply.exitStatus != 0)
    throw std::runtime_error("print of disk " + slot + " failed: " + reply.output);
  return reply.output;
}

int RdsSimProcess::diskCount(const std::string& slot) const {
  SimReply reply = run("/disk print count-only where slot=\"" + slot + "\"");
  if (reply.exitStatus != 0)
    throw std::runtime_error("count of disk " + slot + " failed: " + reply.output);
  return std::stoi(reply.output);
}

std::string detailValue(const std::string& printDetail, const std::string& key) {
  const std::string needle = key + "=";
  for (size_t at = printDetail.find(needle); at != std::string::npos;
       at = printDetail.find(needle, at + 1)) {
    // Only a whole key: at the start of a line or after a space.
    if (at != 0 && printDetail[at - 1] != ' ' && printDetail[at - 1] != '\n') continue;
    size_t start = at + needle.size();
    if (start < printDetail.size() && printDetail[start] == '"') {
      size_t end = printDetail.find('"', start + 1);
      return printDetail.substr(start + 1, end == std::string::npos ? end : end - start - 1);
    }
    size_t end = printDetail.find_first_of(" \r\n", start);
    return printDetail.substr(start, end == std::string::npos ? end : end - start);
  }
  return "";
}

}  // namespace polycsi::testing
